/**
 * The message nlohmann/json (the JSON library llama.cpp's server parses bodies with) gives
 * for a body that is not JSON, e.g. for `{bad`:
 *
 *   [json.exception.parse_error.101] parse error at line 1, column 2: syntax error while
 *   parsing object key - invalid literal; last read: '{b'; expected string literal
 *
 * A small re-creation of its lexer and parser (`include/nlohmann/detail/input/lexer.hpp`,
 * `parser.hpp`): positions count bytes, the end of input counts as one read, and "last read"
 * is everything the lexer consumed since the last string or number began. Only syntax is
 * checked; the caller already knows the body failed JSON.parse.
 */

type Token =
  | 'begin_object' | 'end_object' | 'begin_array' | 'end_array' | 'name_separator' | 'value_separator'
  | 'value_string' | 'value_number' | 'literal' | 'end_of_input' | 'parse_error';

const TOKEN_NAMES: Record<Token | 'literal_or_value', string> = {
  begin_object: "'{'",
  end_object: "'}'",
  begin_array: "'['",
  end_array: "']'",
  name_separator: "':'",
  value_separator: "','",
  value_string: 'string literal',
  value_number: 'number literal',
  literal: 'literal',
  end_of_input: 'end of input',
  parse_error: '<parse error>',
  literal_or_value: "'[', '{', or a literal",
};

const EOF = -1;

const CONTROL_NAMES = 'NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US'.split(' ');
const SHORT_ESCAPES: Record<number, string> = { 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0c: 'f', 0x0d: 'r' };

class Lexer {
  private pos = 0;
  private current = EOF;
  private ungot = false;
  private line = 0;
  private column = 0;
  private total = 0;
  private tokenString: number[] = [];
  error = '';

  constructor(private readonly bytes: Buffer) {}

  get charsReadTotal(): number {
    return this.total;
  }

  position(): string {
    return `line ${this.line + 1}, column ${this.column}`;
  }

  lastRead(): string {
    return this.tokenString
      .map((c) => (c <= 0x1f ? `<U+${c.toString(16).toUpperCase().padStart(4, '0')}>` : String.fromCharCode(c)))
      .join('');
  }

  scan(): Token {
    do this.get();
    while (this.current === 0x20 || this.current === 0x09 || this.current === 0x0a || this.current === 0x0d);
    switch (this.current) {
      case 0x7b: return 'begin_object';
      case 0x7d: return 'end_object';
      case 0x5b: return 'begin_array';
      case 0x5d: return 'end_array';
      case 0x3a: return 'name_separator';
      case 0x2c: return 'value_separator';
      case 0x74: return this.literal('true');
      case 0x66: return this.literal('false');
      case 0x6e: return this.literal('null');
      case 0x22: return this.string();
      case EOF: return 'end_of_input';
      default:
        if (this.current === 0x2d || (this.current >= 0x30 && this.current <= 0x39)) return this.number();
        return this.fail('invalid literal');
    }
  }

  private get(): number {
    this.total++;
    this.column++;
    if (this.ungot) this.ungot = false;
    else this.current = this.pos < this.bytes.length ? this.bytes[this.pos++]! : EOF;
    if (this.current !== EOF) this.tokenString.push(this.current);
    if (this.current === 0x0a) {
      this.line++;
      this.column = 0;
    }
    return this.current;
  }

  private unget(): void {
    this.ungot = true;
    this.total--;
    if (this.column === 0) this.line = Math.max(0, this.line - 1);
    else this.column--;
    if (this.current !== EOF) this.tokenString.pop();
  }

  private reset(): void {
    this.tokenString = this.current === EOF ? [] : [this.current];
  }

  private fail(message: string): Token {
    this.error = message;
    return 'parse_error';
  }

  private literal(word: string): Token {
    for (let i = 1; i < word.length; i++) {
      if (this.get() !== word.charCodeAt(i)) return this.fail('invalid literal');
    }
    return 'literal';
  }

  private string(): Token {
    this.reset();
    for (;;) {
      const c = this.get();
      if (c === EOF) return this.fail('invalid string: missing closing quote');
      if (c === 0x22) return 'value_string';
      if (c === 0x5c) {
        const e = this.get();
        if (e === 0x75) {
          for (let i = 0; i < 4; i++) {
            const h = this.get();
            if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) {
              return this.fail("invalid string: '\\u' must be followed by 4 hex digits");
            }
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e)) || e === EOF) {
          return this.fail('invalid string: forbidden character after backslash');
        }
      } else if (c <= 0x1f) {
        const hex = c.toString(16).toUpperCase().padStart(4, '0');
        const short = SHORT_ESCAPES[c] ? ` or \\${SHORT_ESCAPES[c]}` : '';
        return this.fail(`invalid string: control character U+${hex} (${CONTROL_NAMES[c]}) must be escaped to \\u${hex}${short}`);
      }
    }
  }

  private number(): Token {
    this.reset();
    const digit = (c: number) => c >= 0x30 && c <= 0x39;
    let c = this.current;
    if (c === 0x2d && !digit((c = this.get()))) return this.fail("invalid number; expected digit after '-'");
    if (c !== 0x30) while (digit((c = this.get())));
    else c = this.get();
    if (c === 0x2e) {
      if (!digit(this.get())) return this.fail("invalid number; expected digit after '.'");
      while (digit((c = this.get())));
    }
    if (c === 0x65 || c === 0x45) {
      c = this.get();
      if (c === 0x2b || c === 0x2d) {
        if (!digit(this.get())) return this.fail('invalid number; expected digit after exponent sign');
      } else if (!digit(c)) {
        return this.fail("invalid number; expected '+', '-', or digit after exponent");
      }
      while (digit((c = this.get())));
    }
    this.unget();
    return 'value_number';
  }
}

/** The parse_error.101 message for `raw`, or undefined if it is syntactically valid JSON. */
export function nlohmannParseError(raw: Buffer): string | undefined {
  const lexer = new Lexer(raw);
  const fail = (message: string) => `[json.exception.parse_error.101] parse error at ${lexer.position()}: ${message}`;
  const syntax = (token: Token, expected: Token | 'literal_or_value' | undefined, context: string) => {
    const what = token === 'parse_error' ? `${lexer.error}; last read: '${lexer.lastRead()}'` : `unexpected ${TOKEN_NAMES[token]}`;
    return fail(`syntax error while parsing ${context} - ${what}${expected ? `; expected ${TOKEN_NAMES[expected]}` : ''}`);
  };
  // What each open container expects after a value: true for an object.
  const stack: boolean[] = [];
  let token = lexer.scan();
  for (;;) {
    // a value
    if (token === 'begin_object') {
      token = lexer.scan();
      if (token !== 'end_object') {
        if (token !== 'value_string') return syntax(token, 'value_string', 'object key');
        if ((token = lexer.scan()) !== 'name_separator') return syntax(token, 'name_separator', 'object separator');
        stack.push(true);
        token = lexer.scan();
        continue;
      }
    } else if (token === 'begin_array') {
      token = lexer.scan();
      if (token !== 'end_array') {
        stack.push(false);
        continue;
      }
    } else if (token === 'parse_error') {
      return syntax(token, undefined, 'value');
    } else if (token === 'end_of_input' && lexer.charsReadTotal === 1) {
      return fail('attempting to parse an empty input; check that your input string or stream contains the expected JSON');
    } else if (token !== 'value_string' && token !== 'value_number' && token !== 'literal') {
      return syntax(token, 'literal_or_value', 'value');
    }
    // after a value: close containers or move to the next element
    for (;;) {
      token = lexer.scan();
      if (stack.length === 0) return token === 'end_of_input' ? undefined : syntax(token, 'end_of_input', 'value');
      const inObject = stack[stack.length - 1]!;
      if (token === 'value_separator') {
        token = lexer.scan();
        if (inObject) {
          if (token !== 'value_string') return syntax(token, 'value_string', 'object key');
          if ((token = lexer.scan()) !== 'name_separator') return syntax(token, 'name_separator', 'object separator');
          token = lexer.scan();
        }
        break;
      }
      if (token !== (inObject ? 'end_object' : 'end_array')) return syntax(token, inObject ? 'end_object' : 'end_array', inObject ? 'object' : 'array');
      stack.pop();
    }
  }
}
