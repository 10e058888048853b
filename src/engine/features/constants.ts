/** Fixed analysis settings shared by the speech features, classic conversion and synthesis. */

/** Features are computed at flite's native rate (the classic backend runs at it throughout). */
export const SAMPLE_RATE = 16_000;
/** 5 ms frames, as in WORLD. */
export const FRAME_SHIFT = 80;
export const F0_FLOOR = 60;
export const F0_CEIL = 500;
/** Mel-cepstrum order (c0..c24); 24 is the usual choice for 16 kHz conversion. */
export const MCEP_ORDER = 24;
/** All-pass constant that approximates the mel scale at 16 kHz. */
export const MCEP_ALPHA = 0.42;
/** Envelope FFT size: three periods of F0_FLOOR (800 samples) fit. */
export const FFT_SIZE = 1024;
