/**
 * A checkpoint decoded on the fused WebGPU decoder, for `ablate translate` and the run page's
 * attention maps: experiments/run/inference.ts chooses it for the checkpoint of a run that trained on
 * the fused engine when a WebGPU adapter exists. The weights go once into the decoder's own slab; the
 * decoder is sized by the run's data.max_len (inference cuts sources there) and its decode settings,
 * and rebuilt only for a wider beam. Translations use evaluate.ts's length-sorted chunks of
 * DECODE_CHUNK sentences, as the run's own decoding did, so they are the tfjs decoder's tokens.
 */
import type { RunConfig } from '../../../contract/spec';
import { DECODE_CHUNK } from '../../run/evaluate';
import type { Gpu } from '../runtime/gpu';
import { FusedDecoder, fusedDecodeProblem, type FusedAttentionMaps, type FusedDecoderLimits } from './decoder';

export class FusedCheckpointDecoder {
  private decoder: FusedDecoder | null = null;

  constructor(
    private readonly gpu: Gpu,
    private readonly config: RunConfig,
    private readonly vocab: { readonly src: number; readonly tgt: number },
    private readonly weights: ReadonlyMap<string, ArrayLike<number>>,
  ) {}

  private limits(beam: number): FusedDecoderLimits {
    return {
      maxRows: DECODE_CHUNK * Math.max(1, beam),
      maxSentences: DECODE_CHUNK,
      maxSrcLen: Math.max(1, this.config.data.max_len),
      maxLenOffset: this.config.train.decode.max_len_offset,
    };
  }

  /** Why the fused decoder cannot decode this run with beam `beam` (one line), or null. */
  problem(beam: number): string | null {
    return fusedDecodeProblem(this.config.model, this.limits(beam), beam);
  }

  private decoderFor(beam: number): FusedDecoder {
    const want = this.limits(Math.max(beam, this.config.train.decode.beam));
    if (!this.decoder || this.decoder.limits.maxRows < DECODE_CHUNK * beam) {
      this.decoder?.destroy();
      this.decoder = null;
      this.decoder = new FusedDecoder(this.gpu, this.config.model, this.vocab.src, this.vocab.tgt, this.weights, want);
    }
    return this.decoder;
  }

  /** Target ids per source (beam 1 = greedy), as evaluate.ts translateIds gives them. */
  translate(sources: readonly Int32Array[], opts: { readonly beam: number; readonly alpha: number }): Promise<number[][]> {
    const problem = this.problem(opts.beam);
    if (problem) throw new Error(problem);
    const decoder = this.decoderFor(opts.beam);
    const base = { maxLenOffset: this.config.train.decode.max_len_offset, maxRows: DECODE_CHUNK * Math.max(1, opts.beam) };
    return opts.beam > 1 ? decoder.beam(sources, { ...base, beam: opts.beam, alpha: opts.alpha }) : decoder.greedy(sources, base);
  }

  /** The greedy hypothesis of `src` and every attention map along it (FusedDecoder.attentionMaps). */
  attentionMaps(src: Int32Array): Promise<FusedAttentionMaps> {
    return this.decoderFor(1).attentionMaps(src, { maxLenOffset: this.config.train.decode.max_len_offset });
  }

  destroy(): void {
    this.decoder?.destroy();
    this.decoder = null;
  }
}
