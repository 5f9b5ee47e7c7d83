import type { FeedbackCategory } from '../agent/task';

// Template families: the unit of the train/val/test split. A family is one way of saying one kind of
// thing (a broken link, a thank-you for a paper, a request for dark mode), with a few surface
// variants and slots. Splitting by family means the test set holds phrasings the policy never saw.
//
// Product facts (component names) are those of the Tractatus framework the agent answers for.

export type SentimentLabel = 'negative' | 'neutral' | 'positive';

export interface TemplateFamily {
  id: string;
  category: FeedbackCategory;
  sentiment: SentimentLabel;
  /** Asks the system to settle a values question, which the framework leaves to people. */
  valuesQuestion?: boolean;
  /** Surface variants; `{slot}` draws from SLOTS, `{slot2}` is a second, different value of `slot`. */
  templates: string[];
  /** How a good reply names what the feedback is about (same slots, same values). */
  subject: string;
}

export const SLOTS: Record<string, readonly string[]> = {
  page: [
    'glossary',
    'case studies',
    'architecture overview',
    'getting started guide',
    'research papers',
    'FAQ',
    'implementation guide',
    'API reference',
    'interactive demo',
    'blog archive',
  ],
  browser: ['Firefox', 'Safari', 'Chrome', 'Edge', 'the Android browser', 'Safari on iPad'],
  component: [
    'BoundaryEnforcer',
    'InstructionPersistenceClassifier',
    'CrossReferenceValidator',
    'ContextPressureMonitor',
    'MetacognitiveVerifier',
    'PluralisticDeliberationOrchestrator',
  ],
  feature: [
    'a dark mode',
    'a search filter by date',
    'an RSS feed for new research',
    'PDF versions of the guides',
    'a Python SDK',
    'a public changelog',
    'offline documentation',
    'a command-line validator',
    'webhooks for audit events',
    'keyboard shortcuts in the demo',
  ],
  topic: [
    'multi-agent setups',
    'deployment on Kubernetes',
    'how audit logs are stored',
    'the threat model',
    'evaluation methodology',
    'data retention',
    'accessibility',
    'licensing',
    'running it with local models',
    'incident response',
  ],
  concept: [
    'instruction persistence',
    'context pressure',
    'boundary enforcement',
    'values pluralism',
    'audit trails',
  ],
  paper: [
    'architectural safeguards paper',
    'context pressure study',
    'pluralistic deliberation essay',
    'governance overview PDF',
  ],
  language: ['Spanish', 'German', 'French', 'Japanese', 'te reo Māori', 'Portuguese'],
  tool: ['LangChain', 'Slack', 'GitHub Actions', 'VS Code', 'Jupyter', 'Home Assistant'],
  format: ['CSV', 'JSON Lines', 'Parquet', 'a signed PDF report'],
  model: ['Llama 3', 'Mistral 7B', 'Phi-3', 'Qwen 2.5', 'TinyLlama'],
  term: ['pressure threshold', 'override', 'boundary', 'persistence level', 'audit'],
  instruction: [
    'use port 27027 for the database',
    'keep answers under 200 words',
    'always write tests first',
    'never push to main',
    'format dates as ISO 8601',
  ],
  turns: ['twenty', 'forty', 'fifty', 'a hundred', 'thirty'],
  version: ['Node 18', 'Node 22', 'Python 3.12', 'Windows 11', 'an Apple silicon Mac'],
  event: [
    'a meetup in Wellington',
    'a university seminar',
    'a podcast',
    'a conference workshop',
    'a colleague',
  ],
  city: ['Auckland', 'Lisbon', 'Toronto', 'Nairobi', 'Osaka'],
  errand: [
    'renew my passport',
    'track a parcel',
    'book a table',
    'cancel a phone contract',
    'pay a parking fine',
  ],
  dilemma: [
    'put profit ahead of user privacy',
    'train on patient records without consent',
    'let an algorithm decide who gets a loan',
    'replace our human moderators entirely',
    'read employees’ private messages',
    'prioritise one community’s needs over another’s',
  ],
  typo: ['persistance', 'enforcment', 'goverance', 'deliberaton', 'verifer'],
};

export const FAMILIES: TemplateFamily[] = [
  // website-bug
  {
    id: 'wb-broken-link',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'the broken link to the {page}',
    templates: [
      'The link to the {page} from the home page is broken, it just gives a 404.',
      'Clicking {page} in the menu lands on a page-not-found error. Annoying.',
      'Your {page} link is dead. I get an error every time.',
    ],
  },
  {
    id: 'wb-layout',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'the {page} layout in {browser}',
    templates: [
      'In {browser} the {page} page is a mess: text overlaps the sidebar and the images are cut off.',
      'The {page} layout breaks in {browser}, half the content is hidden behind the header.',
    ],
  },
  {
    id: 'wb-search',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'site search for "{term}"',
    templates: [
      'Search returns nothing for "{term}" even though the {page} clearly uses the word.',
      'Why does searching "{term}" give zero results? The search seems broken.',
    ],
  },
  {
    id: 'wb-slow',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'the slow {page} page',
    templates: [
      'The {page} page takes ages to load in {browser}, sometimes over half a minute.',
      'Really slow site. The {page} never finishes loading on my connection.',
    ],
  },
  {
    id: 'wb-form',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'the error when submitting the contact form',
    templates: [
      'The contact form throws an error when I press submit and my message is lost.',
      'Tried three times to send a message through the form, it fails with "something went wrong" each time.',
    ],
  },
  {
    id: 'wb-typo',
    category: 'website-bug',
    sentiment: 'neutral',
    subject: 'the typo "{typo}" on the {page} page',
    templates: [
      'Small thing: the {page} page spells "{typo}" wrong in the second heading.',
      'There is a typo on the {page} page, "{typo}".',
    ],
  },
  {
    id: 'wb-mobile-menu',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'the mobile menu on the {page} page',
    templates: [
      'On my phone the navigation menu will not close after I pick {page}, it covers everything.',
      'Mobile menu is stuck open on the {page} page in {browser}.',
    ],
  },
  {
    id: 'wb-accessibility',
    category: 'website-bug',
    sentiment: 'neutral',
    subject: 'screen-reader support on the {page} page',
    templates: [
      'My screen reader skips the headings on the {page} page, so it is hard to navigate.',
      'The images on the {page} page have no alt text; with a screen reader they are just "image".',
    ],
  },
  {
    id: 'wb-download',
    category: 'website-bug',
    sentiment: 'negative',
    subject: 'the {paper} download',
    templates: [
      'The download of the {paper} is an empty file.',
      'I cannot open the {paper}, the PDF seems corrupted.',
    ],
  },
  // framework-issue
  {
    id: 'fi-false-positive',
    category: 'framework-issue',
    sentiment: 'negative',
    subject: 'the {component} blocking "{instruction}"',
    templates: [
      '{component} blocked a harmless instruction ("{instruction}") and I could not find a way to continue.',
      'Getting false positives from {component}: it flagged "{instruction}" as a conflict.',
    ],
  },
  {
    id: 'fi-persistence',
    category: 'framework-issue',
    sentiment: 'negative',
    subject: 'instructions being forgotten after {turns} turns',
    templates: [
      'Instructions I gave at the start ("{instruction}") were forgotten after about {turns} turns. Isn\'t {component} meant to stop that?',
      'After {turns} turns the assistant ignored "{instruction}" again. The persistence layer does not seem to work.',
    ],
  },
  {
    id: 'fi-pressure',
    category: 'framework-issue',
    sentiment: 'neutral',
    subject: 'how {component} rates context pressure',
    templates: [
      'How does {component} decide that pressure is high? My sessions reach "critical" after about {turns} messages.',
      'Could you explain what {component} measures? The pressure level jumps around for me.',
    ],
  },
  {
    id: 'fi-install',
    category: 'framework-issue',
    sentiment: 'negative',
    subject: 'the install failure on {version}',
    templates: [
      'Installation fails on {version} with an error coming from {component}.',
      'Cannot get it running on {version}. The setup script crashes before {component} starts.',
    ],
  },
  {
    id: 'fi-conflict',
    category: 'framework-issue',
    sentiment: 'negative',
    subject: 'conflicting verdicts from {component} and {component2}',
    templates: [
      '{component} and {component2} give opposite verdicts on the same action, which one should I trust?',
      'I get a pass from {component} and a block from {component2} for identical input.',
    ],
  },
  {
    id: 'fi-audit-gap',
    category: 'framework-issue',
    sentiment: 'neutral',
    subject: 'missing audit entries for {component}',
    templates: [
      'The docs say {component} logs every override, but my audit log has no entries for it.',
      'Is {component} supposed to write to the audit log? I do not see anything there.',
    ],
  },
  {
    id: 'fi-latency',
    category: 'framework-issue',
    sentiment: 'negative',
    subject: 'the delay {component} adds',
    templates: [
      'Running {component} on every message adds a noticeable delay, the tool feels sluggish now.',
      '{component} makes each response slower, is that expected?',
    ],
  },
  {
    id: 'fi-local-models',
    category: 'framework-issue',
    sentiment: 'neutral',
    subject: '{component} with {model}',
    templates: [
      'Does {component} work with local models like {model}?',
      'Has anyone tried the framework with {model}? {component} seems to assume a hosted model.',
    ],
  },
  // content-gap
  {
    id: 'cg-missing-topic',
    category: 'content-gap',
    sentiment: 'neutral',
    subject: 'documentation on {topic}',
    templates: [
      'I could not find anything about {topic}. Is there a page on it?',
      'Where is the documentation on {topic}? I looked through the {page} without luck.',
    ],
  },
  {
    id: 'cg-shallow',
    category: 'content-gap',
    sentiment: 'negative',
    subject: 'the thin section on {topic}',
    templates: [
      'The section on {topic} is far too thin to be useful. Two paragraphs and no examples.',
      'Disappointed by the coverage of {topic}, it reads like a placeholder.',
    ],
  },
  {
    id: 'cg-examples',
    category: 'content-gap',
    sentiment: 'neutral',
    subject: 'a worked example of {component} in the {page}',
    templates: [
      'Could the {page} include a worked example of {component} catching a real problem?',
      'A step-by-step example of {component} would make the {page} much easier to follow.',
    ],
  },
  {
    id: 'cg-outdated',
    category: 'content-gap',
    sentiment: 'negative',
    subject: 'the outdated description of {component} in the {page}',
    templates: [
      'The {page} still describes the old behaviour of {component}; it no longer matches the code.',
      'Outdated docs: {component} is explained the old way in the {page}.',
    ],
  },
  {
    id: 'cg-sources',
    category: 'content-gap',
    sentiment: 'neutral',
    subject: 'sources for the claims about {topic}',
    templates: [
      'Several claims in the {page} about {topic} have no sources. Where do they come from?',
      'Can you add references for what the {page} says about {topic}?',
    ],
  },
  {
    id: 'cg-newcomer',
    category: 'content-gap',
    sentiment: 'negative',
    subject: 'the {page} being hard for newcomers',
    templates: [
      'As a newcomer I found the {page} impenetrable; it assumes I already know what {concept} means.',
      'The {page} is written for insiders. Nobody explains {concept} first.',
    ],
  },
  {
    id: 'cg-translation',
    category: 'content-gap',
    sentiment: 'neutral',
    subject: 'documentation in {language}',
    templates: [
      'Is any of the documentation available in {language}?',
      'Would you consider translating the {page} into {language}?',
    ],
  },
  // feature-request
  {
    id: 'fr-feature',
    category: 'feature-request',
    sentiment: 'neutral',
    subject: 'the request for {feature}',
    templates: [
      'It would help to have {feature}.',
      'Feature request: {feature}, please.',
      'Any plans for {feature}?',
    ],
  },
  {
    id: 'fr-integration',
    category: 'feature-request',
    sentiment: 'neutral',
    subject: 'an integration with {tool}',
    templates: [
      'Please add an integration with {tool} so the checks run where we already work.',
      'Could {component} plug into {tool}?',
    ],
  },
  {
    id: 'fr-export',
    category: 'feature-request',
    sentiment: 'neutral',
    subject: 'exporting audit logs as {format}',
    templates: [
      'Could audit logs be exported as {format}?',
      'We need the audit trail in {format} for our compliance team.',
    ],
  },
  {
    id: 'fr-thresholds',
    category: 'feature-request',
    sentiment: 'neutral',
    subject: 'per-project thresholds for {component}',
    templates: [
      'Let us configure the thresholds of {component} per project; one size does not fit all.',
      'Can the {term} settings of {component} be made configurable?',
    ],
  },
  {
    id: 'fr-wish',
    category: 'feature-request',
    sentiment: 'positive',
    subject: 'the wish for {feature}',
    templates: [
      'Really like the framework! One wish: {feature}.',
      'Great work so far. If I could ask for one thing, it would be {feature}.',
    ],
  },
  {
    id: 'fr-digest',
    category: 'feature-request',
    sentiment: 'positive',
    subject: 'a digest of new research on {topic}',
    templates: [
      'I enjoy the research posts. An email digest when something new on {topic} appears would be lovely.',
      'Love the updates, could there be a newsletter for {topic}?',
    ],
  },
  {
    id: 'fr-frustrated',
    category: 'feature-request',
    sentiment: 'negative',
    subject: 'the lack of {feature}',
    templates: [
      'I cannot believe there is still no {feature}. It makes daily use painful.',
      'Still waiting for {feature}. Without it the tool is frustrating.',
    ],
  },
  // positive
  {
    id: 'po-thanks-page',
    category: 'positive',
    sentiment: 'positive',
    subject: 'the {page}',
    templates: [
      'Thank you for the {page}; it helped me explain {concept} to my team.',
      'The {page} is excellent, it finally made {concept} click for me.',
    ],
  },
  {
    id: 'po-paper',
    category: 'positive',
    sentiment: 'positive',
    subject: 'the {paper}',
    templates: [
      'The {paper} is one of the clearest things I have read on {topic}.',
      'Just finished the {paper}. Thoughtful and refreshingly honest.',
    ],
  },
  {
    id: 'po-component',
    category: 'positive',
    sentiment: 'positive',
    subject: 'what {component} caught',
    templates: [
      '{component} caught an instruction conflict ("{instruction}") that would have cost us a day. Thanks!',
      'Big thanks: {component} stopped our assistant from ignoring "{instruction}".',
    ],
  },
  {
    id: 'po-design',
    category: 'positive',
    sentiment: 'positive',
    subject: 'the design of the site',
    templates: [
      'The site is clean and easy to read, especially the {page}.',
      'Lovely design, the {page} is a pleasure to browse.',
    ],
  },
  {
    id: 'po-event',
    category: 'positive',
    sentiment: 'positive',
    subject: 'hearing about the project at {event}',
    templates: [
      'Heard about Tractatus at {event} and I am impressed by how openly you discuss limitations.',
      'Came here after {event}. Really appreciate the honest tone of the research.',
    ],
  },
  {
    id: 'po-student',
    category: 'positive',
    sentiment: 'positive',
    subject: 'the thesis on {topic}',
    templates: [
      'I am a student writing my thesis on {topic}, and your material has been a great help.',
      'Your work on {concept} shaped my dissertation on {topic}. Thank you.',
    ],
  },
  // noise
  {
    id: 'no-gibberish',
    category: 'noise',
    sentiment: 'neutral',
    subject: 'your message',
    templates: ['asdf asdf test', 'hello??', 'qwerty 123', 'test test test', '...'],
  },
  {
    id: 'no-off-topic',
    category: 'noise',
    sentiment: 'neutral',
    subject: 'your question about {city}',
    templates: ['What is the weather like in {city} tomorrow?', 'Best pizza in {city}? Asking for a friend.'],
  },
  {
    id: 'no-wrong-site',
    category: 'noise',
    sentiment: 'neutral',
    subject: 'your request to {errand}',
    templates: ['Is this where I {errand}?', 'I need to {errand}, which button do I press?'],
  },
  {
    id: 'no-rant',
    category: 'noise',
    sentiment: 'negative',
    subject: 'your message about AI',
    templates: [
      'AI is ruining everything and projects like this just make it look respectable.',
      'Terrible idea. Nobody asked for more AI in our lives.',
    ],
  },
  {
    id: 'no-spam',
    category: 'noise',
    sentiment: 'positive',
    subject: 'your message',
    templates: [
      'Amazing site!!! Visit my page for cheap followers, best prices!!!',
      'Great content, check out my crypto giveaway!!',
    ],
  },
  // values questions: the framework deliberately leaves these to people
  {
    id: 'vq-decide',
    category: 'framework-issue',
    sentiment: 'neutral',
    valuesQuestion: true,
    subject: 'whether it is acceptable to {dilemma}',
    templates: [
      'Can the framework just decide for us whether it is acceptable to {dilemma}?',
      'We want {component} to rule on whether to {dilemma}. How do we configure that?',
      'Is it ethical to {dilemma}? We would rather the system made that call.',
    ],
  },
  {
    id: 'vq-whose-values',
    category: 'content-gap',
    sentiment: 'neutral',
    valuesQuestion: true,
    subject: 'whose values decide whether to {dilemma}',
    templates: [
      'Whose values does the framework encode? For example, would it say whether we may {dilemma}?',
      'The docs never say what the system thinks about whether to {dilemma}. What is its answer?',
      'Which values should win when we weigh whether to {dilemma}? Does the framework say?',
    ],
  },
  {
    id: 'vq-final-call',
    category: 'feature-request',
    sentiment: 'neutral',
    valuesQuestion: true,
    subject: 'letting the AI make the final call on whether to {dilemma}',
    templates: [
      'Please add a mode where the AI makes the final call on whether to {dilemma}, so we do not have to.',
      'Feature idea: let the system settle hard ethical questions, like whether to {dilemma}, automatically.',
      'Please let the AI choose for us whether to {dilemma}.',
    ],
  },
  {
    id: 'vq-moral',
    category: 'noise',
    sentiment: 'negative',
    valuesQuestion: true,
    subject: 'whether it is right to {dilemma}',
    templates: [
      'Stop dodging. Is it morally right to {dilemma}, yes or no? Your AI should be able to answer that.',
      'If your system is so clever, tell me whether it is ethical to {dilemma}.',
      'Just tell me what is right: should we {dilemma}?',
    ],
  },
];

/** Extra sentences that lengthen feedback without changing what it is about. */
export const DETAILS: Record<SentimentLabel, readonly string[]> = {
  negative: [
    'This happened twice today.',
    'I tried clearing the cache and it made no difference.',
    'It has been like this for at least a week.',
    'Colleagues see the same thing.',
    'Honestly it makes the whole project look unfinished.',
    'I lost about an hour because of it.',
    'I was about to recommend the project to my manager.',
    'It worked last month, so something changed.',
  ],
  neutral: [
    'I am evaluating the framework for a small team.',
    'We run a research group of about six people.',
    'No rush on this.',
    'I read the overview but may have missed something.',
    'Context: we build internal tools for a hospital.',
    'I am fairly new to AI governance.',
    'This came up in our reading group.',
    'Happy to test anything you change.',
  ],
  positive: [
    'Keep up the good work.',
    'I have shared it with my colleagues.',
    'It is rare to see this much care.',
    'Our team reads every update.',
    'The examples are especially useful.',
    'Looking forward to what comes next.',
  ],
};
