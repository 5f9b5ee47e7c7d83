// The `edgelight` command as one bundle for a GPU machine (scripts/gpu-bundle.sh): `.gpu/run.sh edgelight …`.
import { main } from '../server/cli';

process.exitCode = await main(process.argv.slice(2));
