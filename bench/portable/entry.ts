/** Entry of the portable engine bench (bench/portable/pack.sh): `node bench.cjs [bench flags]`. */
import './backends';
import { run } from '../engine.bench';

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
