/**
 * One run, start to finish, inside its run process: engine and backend → data → model → training loop with
 * evaluation every `eval_every` steps and checkpoints every `checkpoint_every` → final beam
 * evaluation → FINAL_METRICS. Everything is reported as contract/run-protocol.ts messages; run
 * failures (bad data, divergence, out of memory, a backend that will not load) become one
 * 'failed' message, never an exception.
 *
 * Metric names and units are contract/metrics.ts's: TRAIN_METRICS with every progress report (loss
 * averaged over the steps since the previous point), VALID_METRICS at every evaluation (BLEU greedy
 * on the first eval_bleu_sentences pairs), FINAL_METRICS once, in 'done'.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { BackendUnavailableError, selectEngine } from '../backend';
import { BatchStream, dataFacts, prepareData, type BatchPosition } from '../data/index';
import { DataError, type PreparedData } from '../data/types';
import { createModel } from '../model/transformer';
import type { FailureKind, MetricPoint, RunJob, RunToParent, SampleTranslation } from '../../contract/run-protocol';
import { TRAIN_METRICS, VALID_METRICS, type FinalMetrics } from '../../contract/metrics';
import { CheckpointWriteError, checkpointFileName, cleanTempFiles, loadNewestVerified, pruneCheckpoints } from '../train/checkpoint';
import { Trainer } from '../train/loop';
import { AVERAGED_CHECKPOINTS, translateAndScore } from './evaluate';
import { tfjsEngine, type RunEngine } from './engine';
import { FusedRunEngine } from '../fused/run/fused-engine';
import { fusedProblems } from '../fused/run/support';

export interface RunIO {
  emit(msg: RunToParent): void;
  /** True once the parent asked the run to stop (checked between steps). */
  shouldStop(): boolean;
}

/** Steps between train metric points and 'progress' messages (progress alone also at least every PROGRESS_SECONDS). */
const PROGRESS_EVERY = 10;
const PROGRESS_SECONDS = 2;
/** Checkpoint files kept on disk per run (older ones are deleted; the DB keeps the newest path). */
const KEEP_CHECKPOINTS = 2;

/** Loop counters that must survive a resume, saved in the checkpoint's `extra`. */
interface Counters {
  tokensSeen: number;
  trainSeconds: number;
  /** Since the last progress point. */
  win: { lossTokens: number; tokens: number; seconds: number; steps: number };
  /** Since the last evaluation: train_loss of FINAL_METRICS. */
  evalWin: { lossTokens: number; tokens: number };
  lastTrainLoss: number;
}

const freshCounters = (): Counters => ({
  tokensSeen: 0,
  trainSeconds: 0,
  win: { lossTokens: 0, tokens: 0, seconds: 0, steps: 0 },
  evalWin: { lossTokens: 0, tokens: 0 },
  lastTrainLoss: NaN,
});

const OOM = /out of memory|\bOOM\b|allocation failed|failed to allocate|cannot allocate|Array buffer allocation|memory access out of bounds|Aborted\(OOM\)|exceeds the maximum|Invalid typed array length/i;

/** Maps an error to the protocol's failure kind and a one-line reason. */
export function classifyFailure(err: unknown): { kind: FailureKind; reason: string } {
  const message = err instanceof Error ? err.message : String(err);
  const line = (message.split('\n').find((l) => l.trim()) ?? message).trim();
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return { kind: 'disk-full', reason: `no space left on device: ${line}` };
  if (err instanceof CheckpointWriteError) return { kind: 'error', reason: line };
  if (err instanceof BackendUnavailableError) return { kind: 'backend', reason: line };
  if (err instanceof DataError) return { kind: 'data', reason: line };
  if (err instanceof RangeError && /Array buffer|typed array/i.test(message)) return { kind: 'out-of-memory', reason: `out of memory: ${line}` };
  if (OOM.test(message)) return { kind: 'out-of-memory', reason: `out of memory: ${line}` };
  return { kind: 'error', reason: `${err instanceof Error && err.name !== 'Error' ? `${err.name}: ` : ''}${line}` };
}

const describeNonFinite = (x: number): string => (Number.isNaN(x) ? 'NaN' : x > 0 ? 'inf' : '-inf');

/**
 * Runs `job` to completion, emitting protocol messages through `io`. Resolves after the final
 * message ('done', 'failed' or 'stopped'); never rejects for run failures.
 */
export async function runJob(job: RunJob, io: RunIO): Promise<void> {
  const cfg = job.config;
  const t = cfg.train;
  let step = 0;
  let engine: RunEngine | undefined;
  const log = (text: string, level: 'info' | 'warn' | 'error' = 'info') => io.emit({ type: 'log', level, text });
  const point = (split: MetricPoint['split'], name: string, value: number, at = step): MetricPoint => ({ split, name, step: at, value, time: Date.now() });

  try {
    // The engine seam (engine.ts): tfjs on the selected backend, or the fused WebGPU engine.
    const selected = await selectEngine(job.backend, () => fusedProblems(cfg));
    const { backend, device } = selected;
    if (selected.skipped) log(selected.skipped);
    log(`backend ${backend}: ${device}`);
    const data: PreparedData = await prepareData(cfg.data, job.cacheDir, (line) => log(line));
    const model = createModel(cfg.model, data.srcTokenizer.vocabSize, data.tgtTokenizer.vocabSize, cfg.seed);
    // The fused decoder's buffers are sized by the longest source decoded: dev and test are scored on every sentence.
    const longestSource = [...data.valid, ...(data.test ?? [])].reduce((m, p) => Math.max(m, p.src.length), 1);
    engine =
      selected.engine === 'fused'
        ? new FusedRunEngine(selected.gpu!, cfg, { src: data.srcTokenizer.vocabSize, tgt: data.tgtTokenizer.vocabSize }, model, { longestSource, tfjs: selected.tfjs ? `${selected.tfjs.backend}, ${selected.tfjs.device}` : 'tfjs' })
        : tfjsEngine(model, new Trainer(model, { warmup: t.warmup, lrFactor: t.lr_factor, clipNorm: t.clip_norm, labelSmoothing: cfg.model.label_smoothing, seed: cfg.seed }));
    const eng = engine;
    const stream = new BatchStream(data.train, t.batch_tokens, cfg.seed);
    let counters = freshCounters();
    let lastCheckpointStep = -1;

    // A writer killed mid-checkpoint leaves `<name>.tmp-<pid>`: never a checkpoint, only space.
    const leftovers = cleanTempFiles(job.checkpointDir);
    if (leftovers.length) log(`removed ${leftovers.length} unfinished checkpoint file(s) of an earlier attempt: ${leftovers.join(', ')}`);

    if (job.resumeFrom) {
      // The newest checkpoint that verifies: a corrupt or truncated latest falls back to the one before.
      const { loaded, skipped } = loadNewestVerified(job.resumeFrom.path);
      for (const s of skipped) log(`checkpoint ${s.path} not used: ${s.reason}`, 'warn');
      if (loaded) {
        const ckpt = loaded.checkpoint;
        eng.restore(ckpt);
        stream.restore(ckpt.header.batchPosition as BatchPosition);
        counters = { ...freshCounters(), ...(ckpt.header.extra.counters as Partial<Counters> | undefined) };
        step = ckpt.header.step;
        lastCheckpointStep = step;
        log(`resumed from ${loaded.path} at step ${step}${skipped.length ? ` (the newest checkpoint that verifies)` : ''}${ckpt.verified ? '' : ' (an older checkpoint without a checksum: not verified)'}`, skipped.length || !ckpt.verified ? 'warn' : 'info');
      } else log(`no checkpoint verifies (${skipped.length} tried): starting again from step 0`, 'warn');
    }

    // Which decoder produced the run's BLEU and hypotheses is part of its recorded device (the fused engine may decode on either).
    log(`BLEU decoded by ${eng.decoding}`);
    io.emit({ type: 'ready', backend, device: selected.engine === 'fused' ? `${device}; BLEU decoded by ${eng.decoding}` : device, params: eng.paramCount, data: dataFacts(data), startStep: step });

    const tokenizers = { src: data.srcTokenizer.toJSON(), tgt: data.tgtTokenizer.toJSON(), shared: data.srcTokenizer === data.tgtTokenizer };
    const vocab = { src: data.srcTokenizer.vocabSize, tgt: data.tgtTokenizer.vocabSize };
    const checkpoint = async (): Promise<void> => {
      if (step === lastCheckpointStep) return;
      const path = join(job.checkpointDir, checkpointFileName(step));
      await eng.save(path, { config: cfg, batchPosition: stream.position, tokenizers, vocab, extra: { counters } });
      lastCheckpointStep = step;
      io.emit({ type: 'checkpoint', step, path });
      // average_last keeps its K checkpoints (the ones averaged at the end).
      pruneCheckpoints(job.checkpointDir, Math.max(KEEP_CHECKPOINTS, t.average_last ?? 0));
    };

    const evaluate = async (): Promise<void> => {
      const lossResult = await eng.evaluateLoss(data.valid, t.batch_tokens);
      const subset = data.valid.slice(0, t.eval_bleu_sentences);
      const greedy = await translateAndScore(eng.translate, subset, data.tgtTokenizer, { beam: 1, alpha: 0, maxLenOffset: t.decode.max_len_offset });
      io.emit({
        type: 'metrics',
        points: [point('valid', VALID_METRICS.loss, lossResult.loss), point('valid', VALID_METRICS.ppl, lossResult.ppl), point('valid', VALID_METRICS.bleu, greedy.bleu)],
      });
      const samples: SampleTranslation[] = subset.slice(0, t.samples).map((p, i) => ({ source: p.source, reference: p.target, hypothesis: greedy.hypotheses[i] }));
      if (samples.length) io.emit({ type: 'samples', step, samples });
      counters.evalWin = { lossTokens: 0, tokens: 0 };
    };

    let lastProgressAt = performance.now();
    /**
     * A progress message, and at logging steps (every PROGRESS_EVERY, and the last) the train
     * metric points of the window since the previous one. Points only at logging steps: the curve
     * is the same however often the run was stopped, resumed or slow (a point "every 2 s" would
     * depend on wall-clock time and on when the run stopped).
     */
    const report = (points: boolean): void => {
      const w = counters.win;
      if (!w.steps) return;
      const loss = w.lossTokens / Math.max(w.tokens, 1);
      const tps = w.tokens / Math.max(w.seconds, 1e-9);
      const lr = eng.nextLearningRate();
      io.emit({ type: 'progress', step, totalSteps: t.steps, loss, lr, tokensPerSecond: tps, tokensSeen: counters.tokensSeen });
      lastProgressAt = performance.now();
      if (!points) return;
      io.emit({
        type: 'metrics',
        points: [point('train', TRAIN_METRICS.loss, loss), point('train', TRAIN_METRICS.lr, lr), point('train', TRAIN_METRICS.tokensPerSecond, tps), point('train', TRAIN_METRICS.tokensSeen, counters.tokensSeen)],
      });
      counters.win = { lossTokens: 0, tokens: 0, seconds: 0, steps: 0 };
    };

    // Steps the loop below logs, evaluates or checkpoints at: an engine with lagged loss read-back settles there.
    const settleAt = (s: number) => s % PROGRESS_EVERY === 0 || s % t.eval_every === 0 || s % t.checkpoint_every === 0 || s === t.steps;
    for await (const r of eng.train(stream, { totalSteps: t.steps, shouldStop: () => io.shouldStop(), settleAt })) {
      step = r.step;
      if (!Number.isFinite(r.loss)) {
        io.emit({ type: 'metrics', points: [point('train', TRAIN_METRICS.loss, r.loss)] });
        io.emit({ type: 'failed', kind: 'diverged', reason: `diverged at step ${step}: loss is ${describeNonFinite(r.loss)}`, step });
        return;
      }
      counters.tokensSeen += r.tokens;
      counters.trainSeconds += r.seconds;
      counters.win.lossTokens += r.loss * r.tokens;
      counters.win.tokens += r.tokens;
      counters.win.seconds += r.seconds;
      counters.win.steps += 1;
      counters.evalWin.lossTokens += r.loss * r.tokens;
      counters.evalWin.tokens += r.tokens;
      counters.lastTrainLoss = counters.evalWin.lossTokens / counters.evalWin.tokens;
      if (step % PROGRESS_EVERY === 0 || step === t.steps) report(true);
      else if ((performance.now() - lastProgressAt) / 1000 >= PROGRESS_SECONDS) report(false);
      if (step % t.eval_every === 0 || step === t.steps) await evaluate();
      if (step % t.checkpoint_every === 0) await checkpoint();
    }

    if (step < t.steps) {
      // Stopped between steps: keep what was trained so a later attempt resumes here. No progress
      // point at the stop step: the partial window travels in the checkpoint (counters.win) and is
      // reported at the next logging step, so the curve is the uninterrupted run's.
      await checkpoint();
      io.emit({ type: 'stopped', step });
      return;
    }
    await checkpoint();

    // Final evaluation: full valid and test splits (every sentence), decoded as configured (beam by default).
    const settings = { beam: t.decode.beam, alpha: t.decode.alpha, maxLenOffset: t.decode.max_len_offset };
    const finalEvaluation = async () => ({
      valid: await eng.evaluateLoss(data.valid, t.batch_tokens),
      validDecode: await translateAndScore(eng.translate, data.valid, data.tgtTokenizer, settings),
      testDecode: data.test?.length ? await translateAndScore(eng.translate, data.test, data.tgtTokenizer, settings) : undefined,
    });
    let scored = await finalEvaluation();
    if ((t.average_last ?? 0) >= 2) {
      // Checkpoint averaging (the paper's Table 2 recipe): the last weights' scores are kept as *_last.
      const last = scored;
      const averaged = await eng.average(job.checkpointDir, t.average_last!);
      for (const s of averaged.skipped) log(`checkpoint ${s.path} not averaged: ${s.reason}`, 'warn');
      if (averaged.steps.length >= 2) {
        scored = await finalEvaluation();
        const lastPoints = [point('final', 'valid_loss_last', last.valid.loss), point('final', 'valid_ppl_last', last.valid.ppl), point('final', 'valid_bleu_last', last.validDecode.bleu)];
        if (last.testDecode) lastPoints.push(point('final', 'test_bleu_last', last.testDecode.bleu));
        lastPoints.push(point('final', AVERAGED_CHECKPOINTS, averaged.steps.length));
        io.emit({ type: 'metrics', points: lastPoints });
        log(`averaged the last ${averaged.steps.length} checkpoints (steps ${averaged.steps.join(', ')}): valid BLEU ${last.validDecode.bleu.toFixed(2)} (last) → ${scored.validDecode.bleu.toFixed(2)} (averaged)`);
      } else log(`average_last ${t.average_last}: only ${averaged.steps.length} checkpoint(s) on disk; the last weights are scored`, 'warn');
    }
    const { valid, validDecode, testDecode } = scored;
    // Every hypothesis of the scored model, for significance tests and later metrics (no decoding again).
    io.emit({ type: 'hypotheses', split: 'valid', step, hypotheses: validDecode.hypotheses, references: data.valid.map((p) => p.target) });
    if (testDecode && data.test) io.emit({ type: 'hypotheses', split: 'test', step, hypotheses: testDecode.hypotheses, references: data.test.map((p) => p.target) });
    const metrics: FinalMetrics = {
      train_loss: counters.lastTrainLoss,
      valid_loss: valid.loss,
      valid_ppl: valid.ppl,
      valid_bleu: validDecode.bleu,
      params: eng.paramCount,
      train_seconds: counters.trainSeconds,
      tokens_per_second: counters.tokensSeen / Math.max(counters.trainSeconds, 1e-9),
    };
    if (testDecode) metrics.test_bleu = testDecode.bleu;
    // Final metrics travel once, in 'done'; the parent records them under split 'final'.
    io.emit({ type: 'done', metrics, step });
  } catch (err) {
    const { kind, reason } = classifyFailure(err);
    if (kind === 'error' && err instanceof Error && err.stack) log(err.stack, 'error');
    io.emit({ type: 'failed', kind, reason, step });
  } finally {
    engine?.dispose();
    // Nothing of this run may outlive it in a long-lived process (tests run several jobs).
    tf.disposeVariables();
  }
}
