import { DataError } from "./data-error.js";

/** One element of a top-level JSON array: its exact source text and where it starts. */
export interface JsonArrayElement {
  readonly text: string;
  /** 1-based line of the element's first character. */
  readonly line: number;
  /** 1-based column of the element's first character. */
  readonly column: number;
  /**
   * UTF-8 byte offset of the element's first character from the start of the scanned text, so a
   * reader can seek back to one element later (add the offset of the text in the file).
   */
  readonly byteOffset: number;
}

/** An incremental JSON syntax checker; see {@link createJsonArrayScanner}. */
export interface JsonArrayScanner {
  /** Consumes the next piece of text; returns the array elements it completed, in order. */
  push(text: string): JsonArrayElement[];
  /** Declares the end of the input. @throws DataError when the JSON is not complete. */
  end(): void;
}

type Mode = "array-elements" | "value";
type Expect = "array" | "value" | "value-or-close" | "key-or-close" | "key" | "colon" | "comma-or-close" | "end";

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const NEWLINE = 0x0a;

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const NUMBER_LIKE = /[-+.eE0-9]+/y;
const WORD = /[a-zA-Z]+/y;
const STRING_SPECIAL = /["\\\u0000-\u001f]/g;
const SIMPLE_ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const HEX = /^[0-9a-fA-F]$/;

/**
 * Streams a file holding one JSON array and hands back each element's source text, so a 10 GB
 * Alpaca file is read with memory bounded by its largest record. Each element is then parsed with
 * `JSON.parse` (native speed); this scanner's job is the framing and exact error positions.
 *
 * It is a complete JSON grammar checker with a bracket stack, run incrementally: input may be cut
 * anywhere (inside strings, numbers, `\u` escapes), and a syntax error is reported at its own line and
 * column as soon as it is seen rather than after buffering the rest of the file. Strings cannot hold a
 * raw newline, so lines are counted in whitespace only.
 *
 * @param file Named in error messages.
 * @throws DataError `invalid-input` with the line and column: `data.json:7:5: malformed JSON: ...`.
 */
export function createJsonArrayScanner(file: string): JsonArrayScanner {
  return createScanner(file, "array-elements", 1);
}

/**
 * Finds the first JSON syntax error in `text` (one JSONL line) and describes it with its column, for
 * when `JSON.parse` has rejected the line: V8's own messages often carry no position.
 *
 * @returns The error, or `undefined` when the text is valid JSON.
 */
export function findJsonSyntaxError(file: string, text: string, line: number): DataError | undefined {
  const scanner = createScanner(file, "value", line);
  try {
    scanner.push(text);
    scanner.end();
  } catch (error: unknown) {
    if (error instanceof DataError) return error;
    throw error;
  }
  return undefined;
}

function createScanner(file: string, mode: Mode, firstLine: number): JsonArrayScanner {
  const inputName = mode === "value" ? "the line" : "the file";
  let buffer = "";
  let pos = 0;
  let bufferOffset = 0; // absolute offset of buffer[0]
  let line = firstLine;
  let lineStart = 0; // absolute offset of the current line's first character
  let expect: Expect = mode === "value" ? "value" : "array";
  const stack: number[] = [];
  let inString = false;
  let stringIsKey = false;
  let afterBackslash = false;
  let hexLeft = 0;
  let element: { parts: string[]; from: number; line: number; column: number; byteOffset: number } | undefined;
  // Bytes of the text before buffer[byteCursor], advanced lazily (only when an element starts and when
  // the buffer is compacted) so that every character is measured once, not once per element.
  let bytesBefore = 0;
  let byteCursor = 0;
  const byteOffsetAt = (at: number): number => {
    if (at > byteCursor) bytesBefore += Buffer.byteLength(buffer.slice(byteCursor, at), "utf8");
    byteCursor = at;
    return bytesBefore;
  };
  let completed: JsonArrayElement[] = [];

  const column = (): number => bufferOffset + pos - lineStart + 1;
  const got = (): string => {
    if (pos >= buffer.length) return `the end of ${inputName}`;
    const char = String.fromCodePoint(buffer.codePointAt(pos) ?? 0);
    return char === '"' ? `'"'` : JSON.stringify(char);
  };
  const fail = (reason: string): never => {
    throw new DataError("invalid-input", `malformed JSON: ${reason}`, { file, line, column: column() });
  };

  function valueDone(): void {
    if (stack.length === 0) {
      expect = "end";
      return;
    }
    expect = "comma-or-close";
    if (mode === "array-elements" && stack.length === 1 && element !== undefined) {
      completed.push({ text: element.parts.join("") + buffer.slice(element.from, pos), line: element.line, column: element.column, byteOffset: element.byteOffset });
      element = undefined;
    }
  }

  function close(): true {
    stack.pop();
    pos++;
    valueDone();
    return true;
  }

  /** Returns false when the token may continue in the next chunk. */
  function scalar(pattern: RegExp, final: boolean, valid: (token: string) => boolean, what: string): boolean {
    pattern.lastIndex = pos;
    const match = pattern.exec(buffer);
    const token = match?.[0] ?? "";
    if (pos + token.length === buffer.length && !final) return false;
    if (!valid(token)) fail(`invalid ${what} ${JSON.stringify(token)}`);
    pos += token.length;
    valueDone();
    return true;
  }

  function beginValue(code: number, final: boolean): boolean {
    if (mode === "array-elements" && stack.length === 1) element = { parts: [], from: pos, line, column: column(), byteOffset: byteOffsetAt(pos) };
    if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      stack.push(code);
      pos++;
      expect = code === OPEN_BRACE ? "key-or-close" : "value-or-close";
      return true;
    }
    if (code === QUOTE) return beginString(false);
    if (code === 0x2d || (code >= 0x30 && code <= 0x39)) return scalar(NUMBER_LIKE, final, (token) => NUMBER.test(token), "number");
    if (code >= 0x61 && code <= 0x7a) return scalar(WORD, final, (token) => token === "true" || token === "false" || token === "null", "literal");
    return fail(`expected a value, got ${got()}`);
  }

  function beginString(isKey: boolean): true {
    inString = true;
    stringIsKey = isKey;
    pos++;
    return true;
  }

  /** Scans string content; returns false when the chunk ends inside the string. */
  function continueString(): boolean {
    while (pos < buffer.length) {
      if (afterBackslash) {
        const char = buffer[pos];
        if (char === "u") hexLeft = 4;
        else if (!SIMPLE_ESCAPES.has(char)) fail(`invalid escape "\\${char}" in a string`);
        afterBackslash = false;
        pos++;
        continue;
      }
      if (hexLeft > 0) {
        if (!HEX.test(buffer[pos])) fail(`invalid \\u escape in a string, got ${got()}`);
        hexLeft--;
        pos++;
        continue;
      }
      STRING_SPECIAL.lastIndex = pos;
      const special = STRING_SPECIAL.exec(buffer);
      if (special === null) {
        pos = buffer.length;
        return false;
      }
      pos = special.index;
      const code = buffer.charCodeAt(pos);
      if (code === QUOTE) {
        pos++;
        inString = false;
        if (stringIsKey) expect = "colon";
        else valueDone();
        return true;
      }
      if (code === BACKSLASH) {
        afterBackslash = true;
        pos++;
        continue;
      }
      fail(code === NEWLINE || code === 0x0d ? "unterminated string (a string cannot span lines)" : "control character in a string (escape it)");
    }
    return false;
  }

  /** Handles one token start; returns false when it needs more input. */
  function step(code: number, final: boolean): boolean {
    const top = stack[stack.length - 1];
    switch (expect) {
      case "array":
        if (code !== OPEN_BRACKET) fail(`expected a JSON array of records, got ${got()}`);
        stack.push(code);
        pos++;
        expect = "value-or-close";
        return true;
      case "value-or-close":
        return code === CLOSE_BRACKET ? close() : beginValue(code, final);
      case "value":
        return beginValue(code, final);
      case "key-or-close":
        if (code === CLOSE_BRACE) return close();
        if (code === QUOTE) return beginString(true);
        return fail(`expected a property name or "}", got ${got()}`);
      case "key":
        if (code === QUOTE) return beginString(true);
        return fail(`expected a property name after ",", got ${got()}`);
      case "colon":
        if (code !== COLON) fail(`expected ":" after a property name, got ${got()}`);
        pos++;
        expect = "value";
        return true;
      case "comma-or-close": {
        const closer = top === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
        if (code === COMMA) {
          pos++;
          expect = top === OPEN_BRACE ? "key" : "value";
          return true;
        }
        if (code === closer) return close();
        return fail(top === OPEN_BRACE ? `expected "," or "}" after a property value, got ${got()}` : `expected "," or "]" after an array element, got ${got()}`);
      }
      case "end":
        return fail(`unexpected ${got()} after the end of the JSON value`);
    }
  }

  function run(final: boolean): void {
    while (pos < buffer.length) {
      if (inString) {
        if (!continueString()) return;
        continue;
      }
      const code = buffer.charCodeAt(pos);
      if (code === 0x20 || code === 0x09 || code === 0x0d) {
        pos++;
      } else if (code === NEWLINE) {
        pos++;
        line++;
        lineStart = bufferOffset + pos;
      } else if (!step(code, final)) {
        return;
      }
    }
  }

  /** Drops consumed text; the current element keeps its text in parts so it is never re-copied. */
  function compact(): void {
    if (element !== undefined) {
      element.parts.push(buffer.slice(element.from, pos));
      element.from = 0;
    }
    if (mode === "array-elements") byteOffsetAt(pos);
    buffer = buffer.slice(pos);
    bufferOffset += pos;
    pos = 0;
    byteCursor = 0;
  }

  return {
    push(text: string): JsonArrayElement[] {
      buffer += text;
      run(false);
      compact();
      const done = completed;
      completed = [];
      return done;
    },
    end(): void {
      run(true);
      if (inString) fail(`unterminated string at ${got()}`);
      // No character can match, so this reports what was expected, "got the end of the file".
      if (expect !== "end") step(-1, true);
    },
  };
}
