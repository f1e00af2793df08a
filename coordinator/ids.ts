import { customAlphabet } from 'nanoid';

const LETTERS_AND_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Ids an operator types or pastes into a command line (silences, restart jobs): letters and
 * digits only. nanoid's default alphabet also has `-` and `_`, and one id in 32 began with
 * `-`, which `llm-health silence expire` and `restarts show` then read as an option. 21 of
 * 62 characters: about 125 random bits, as strong as nanoid's default.
 */
export const newOperatorId: () => string = customAlphabet(LETTERS_AND_DIGITS, 21);
