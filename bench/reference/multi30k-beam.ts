/**
 * Beam 4 against greedy on a workbench-trained Multi30k model, decoded by the workbench (the tfjs
 * decoder, as a run's evaluation calls it) and by the plain PyTorch reference (torch_beam.py) on
 * the same checkpoint (issue 10: "beam 4 output is 12% shorter than greedy: does the reference
 * agree?").
 *
 * For each search it reports sacreBLEU (the workbench's implementation, tested against sacreBLEU
 * 2.6.0; signature printed), the length ratio (hypothesis / reference 13a tokens, sacreBLEU's
 * `ratio`), and how many sentences the two decoders gave identical token ids for. To tell a search
 * fault from the objective's preference, PyTorch scores greedy's outputs under beam's objective
 * (logP / lp(len), EOS counted): a correct beam search scores at least as well on (nearly) every
 * sentence. `--alphas 1,1.5` adds PyTorch beam rows at other length-penalty exponents.
 * `--uncached N` also decodes the first N sentences with the tfjs decoder's cache off (the whole
 * prefix recomputed each step) and counts how many equal the cached outputs.
 *
 * Usage: npx tsx bench/reference/multi30k-beam.ts --checkpoint FILE [--split test|valid]
 *          [--sentences N] [--beam 4] [--alpha A] [--alphas A1,A2] [--uncached N] [--backend wasm|cpu] [--out DIR]
 * Defaults: the split's every non-blank pair, beam 4, the checkpoint's alpha and max_len_offset,
 * wasm, out = bench/results/multi30k-beam (ignored by git). Train a model with
 * `ablate run bench/reference/multi30k-small.yaml --db bench/results/multi30k-beam/ablate.sqlite`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readSplitSource, parseSplit } from '../../experiments/data/readers';
import { corpusBleu } from '../../experiments/metrics/bleu';
import { beamSearch, greedyDecode } from '../../experiments/decode/index';
import { bleuSignature, translateIds } from '../../experiments/run/evaluate';
import { openCheckpoint } from '../../experiments/run/inference';
import { torchDecode, torchMissing, type TorchSearch } from './torch-beam';

interface Row {
  decoder: 'workbench' | 'pytorch';
  search: string;
  bleu: number;
  ratio: number;
  sysLen: number;
  refLen: number;
  meanTokens: number;
  capped: number;
  seconds: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' }, split: { type: 'string', default: 'test' }, sentences: { type: 'string' },
      beam: { type: 'string', default: '4' }, alpha: { type: 'string' }, alphas: { type: 'string', default: '' }, uncached: { type: 'string', default: '0' }, backend: { type: 'string', default: 'wasm' },
      out: { type: 'string', default: 'bench/results/multi30k-beam' },
    },
  });
  if (!values.checkpoint) throw new Error('--checkpoint FILE is required (a workbench checkpoint, e.g. .ablate/…/run-1/step-00001000.ckpt)');
  if (values.split !== 'test' && values.split !== 'valid') throw new Error(`--split: expected test or valid, got ${values.split}`);
  const missing = torchMissing();
  if (missing) throw new Error(`the PyTorch reference cannot run: ${missing}`);
  const run = await openCheckpoint(values.checkpoint, { backend: values.backend as 'wasm' | 'cpu' });
  const beam = Number(values.beam);
  const alpha = values.alpha !== undefined ? Number(values.alpha) : run.config.train.decode.alpha;
  const offset = run.config.train.decode.max_len_offset;
  const corpus = run.config.data.corpus;
  if (!corpus?.[values.split]) throw new Error(`${values.checkpoint}: the run has no ${values.split} corpus`);
  const raw = parseSplit(readSplitSource(corpus[values.split]!));
  let pairs = raw.sources.map((s, i) => ({ source: s, target: raw.targets[i] })).filter((p) => p.source.trim() && p.target.trim());
  if (values.sentences) pairs = pairs.slice(0, Number(values.sentences));
  const sources = pairs.map((p) => Int32Array.from(run.srcTokenizer.encode(p.source)));
  const refs = pairs.map((p) => p.target);
  const out = values.out!;
  mkdirSync(out, { recursive: true });
  console.error(`step ${run.step}, ${values.split}: ${pairs.length} sentences, beam ${beam}, alpha ${alpha}, max_len_offset ${offset}`);

  const rows: Row[] = [];
  const ids: Record<string, number[][]> = {};
  const score = (decoder: Row['decoder'], search: string, hyps: number[][], seconds: number) => {
    const text = hyps.map((h) => run.tgtTokenizer.decode(h));
    writeFileSync(join(out, `${values.split}.${decoder}.${search}.de`), text.join('\n') + '\n');
    const b = corpusBleu(text, [refs]);
    const capped = hyps.filter((h, i) => h.length >= sources[i].length + offset).length;
    rows.push({ decoder, search, bleu: b.score, ratio: b.ratio, sysLen: b.sysLen, refLen: b.refLen, meanTokens: hyps.reduce((a, h) => a + h.length, 0) / hyps.length, capped, seconds });
    ids[`${decoder}.${search}`] = hyps;
    console.error(`${decoder} ${search}: BLEU ${b.score.toFixed(2)}, ratio ${b.ratio.toFixed(3)} (${seconds.toFixed(0)} s)`);
  };
  for (const [search, k] of [['greedy', 1], [`beam${beam}`, beam]] as const) {
    const t0 = performance.now();
    const hyps = await translateIds(run.model, sources, { beam: k, alpha, maxLenOffset: offset });
    score('workbench', search, hyps, (performance.now() - t0) / 1000);
  }
  const sweep = values.alphas!.split(',').filter(Boolean).map(Number);
  const searches: TorchSearch[] = [
    { search: 'greedy', max_len_offset: offset }, { search: 'beam', beam, alpha, max_len_offset: offset },
    ...sweep.map((a) => ({ search: 'beam' as const, beam, alpha: a, max_len_offset: offset })),
  ];
  const torch = torchDecode(values.checkpoint, sources, searches, { batchSentences: 64 });
  score('pytorch', 'greedy', torch.runs[0].hypotheses, torch.runs[0].seconds);
  score('pytorch', `beam${beam}`, torch.runs[1].hypotheses, torch.runs[1].seconds);
  sweep.forEach((a, i) => score('pytorch', `beam${beam}-alpha${a}`, torch.runs[2 + i].hypotheses, torch.runs[2 + i].seconds));

  // Beam's objective of greedy's and beam's outputs (the workbench's, which PyTorch matched or not).
  const [ofGreedy, ofBeam] = torchDecode(values.checkpoint, sources, [
    { search: 'score', hypotheses: ids['workbench.greedy'], alpha }, { search: 'score', hypotheses: ids[`workbench.beam${beam}`], alpha },
  ], { batchSentences: 64 }).runs.map((r) => r.scores as number[]);
  const tol = 1e-4;
  const objective = {
    beamBetter: ofBeam.filter((b, i) => b > ofGreedy[i] + tol).length,
    equal: ofBeam.filter((b, i) => Math.abs(b - ofGreedy[i]) <= tol).length,
    greedyBetter: ofGreedy.filter((g, i) => g > ofBeam[i] + tol).length,
    // The reference beam's own scores against the teacher-forced objective of the same outputs.
    maxScoreGap: Math.max(...torch.runs[1].scores.map((x, i) => (ids['pytorch.' + `beam${beam}`][i].join() === ids[`workbench.beam${beam}`][i].join() ? Math.abs((x as number) - ofBeam[i]) : 0))),
    shorterThanGreedy: ids[`workbench.beam${beam}`].filter((h, i) => h.length < ids['workbench.greedy'][i].length).length,
    longerThanGreedy: ids[`workbench.beam${beam}`].filter((h, i) => h.length > ids['workbench.greedy'][i].length).length,
  };

  // The tfjs decoder without its key/value cache, on the first N sentences.
  const n = Math.min(Number(values.uncached), sources.length);
  let uncached: { sentences: number; greedy: number; beam: number } | null = null;
  if (n > 0) {
    const few = sources.slice(0, n);
    const g = await greedyDecode(run.model, few, { maxLenOffset: offset, useCache: false });
    const k = await beamSearch(run.model, few, { beam, alpha, maxLenOffset: offset, useCache: false });
    const same = (a: number[][], key: string) => a.filter((h, i) => h.join() === ids[key][i].join()).length;
    uncached = { sentences: n, greedy: same(g, 'workbench.greedy'), beam: same(k, `workbench.beam${beam}`) };
  }

  const identical = (search: string) => ids[`workbench.${search}`].filter((h, i) => h.join() === ids[`pytorch.${search}`][i].join()).length;
  const agreement = { greedy: identical('greedy'), [`beam${beam}`]: identical(`beam${beam}`), sentences: pairs.length };
  const report = { checkpoint: values.checkpoint, step: run.step, split: values.split, beam, alpha, maxLenOffset: offset, torch: torch.torch, signature: bleuSignature(), rows, identical: agreement, objective, uncached };
  writeFileSync(join(out, `${values.split}.report.json`), JSON.stringify(report, null, 2));
  const table = [
    '| decoder | search | BLEU | length ratio | hyp / ref tokens (13a) | mean target pieces | at the length limit | seconds |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.decoder} | ${r.search} | ${r.bleu.toFixed(2)} | ${r.ratio.toFixed(3)} | ${r.sysLen} / ${r.refLen} | ${r.meanTokens.toFixed(2)} | ${r.capped} | ${r.seconds.toFixed(0)} |`),
    '',
    `BLEU signature: ${report.signature}`,
    `Token-identical sentences, workbench vs PyTorch: greedy ${agreement.greedy}/${agreement.sentences}, beam ${beam} ${agreement[`beam${beam}`]}/${agreement.sentences}`,
    ...(uncached ? [`tfjs decoder without its cache, first ${uncached.sentences} sentences: greedy ${uncached.greedy}/${uncached.sentences}, beam ${beam} ${uncached.beam}/${uncached.sentences} equal to the cached outputs`] : []),
    `Beam's objective (α ${alpha}) of the workbench outputs: beam ${beam} higher on ${objective.beamBetter}, equal on ${objective.equal}, greedy higher on ${objective.greedyBetter} sentences; beam ${beam} shorter than greedy on ${objective.shorterThanGreedy}, longer on ${objective.longerThanGreedy}; reference beam score vs teacher-forced objective: max gap ${objective.maxScoreGap.toExponential(1)}`,
  ].join('\n');
  writeFileSync(join(out, `${values.split}.report.md`), table + '\n');
  console.log(table);
  run.dispose();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
