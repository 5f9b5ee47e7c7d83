// tfjs-core's gradient and chained-op registrations for bundlers (vite, the browser and the workers): the
// ES modules themselves, sharing the bundle's one copy of tfjs-core. Node loads
// tfjs-registrations.node.js instead (package.json "imports", `#tfjs-registrations`).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
