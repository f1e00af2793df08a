/**
 * The image a vision deep probe sends: a 32x32 RGB PNG (a 2x2 checkerboard, 114 bytes).
 * Not 1x1: Qwen2-VL-style processors reject images smaller than their 28-pixel patch
 * factor ("height and width must be larger than factor"), which would make a healthy
 * server look broken. The checkerboard gives the encoder edges rather than a flat field.
 */
export const PROBE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAOUlEQVR42mO4Y6OBFWlE3cGKSFXPMGrBqAVDwAJqGYRL/agFoxYMBQtGi4pRC0YtGK0PRi0YtQCIAKgzPEyWZKr1AAAAAElFTkSuQmCC';

export const PROBE_PNG_DATA_URI = `data:image/png;base64,${PROBE_PNG_BASE64}`;
