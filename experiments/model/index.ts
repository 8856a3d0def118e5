/** Public surface of the model package. */
export type { AttentionWeights, DecoderCache, EncoderOutput, Seq2SeqModel } from './types';
export { createModel } from './transformer';
export { countParameters, parameterSpecs } from './params';
export { MAX_LEARNED_POSITIONS, sinusoidalTable } from './positional';
export { embeddingLookup, matMul, oneHotFloat } from './ops';
