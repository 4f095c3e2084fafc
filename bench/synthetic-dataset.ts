/**
 * A deterministic Alpaca-shaped dataset of any size, for benchmarks that need more rows than the
 * examples hold. Rows are `{ id, task, instruction, input, output }` JSON Lines with the shape of real
 * instruction-tuning data: a third in Chinese, about one in five with an `input`, response lengths
 * from one word to a hundred and twenty (a long right tail), and tasks of very different sizes (a few large
 * ones, many small ones, some singletons without one-shot partners). The texts are random word
 * salad from fixed vocabularies: they exercise tokenization and padding like real text, but carry no
 * meaning.
 */
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";

/** What {@link writeSyntheticJsonl} wrote. */
export interface SyntheticDatasetStats {
  readonly rows: number;
  readonly bytes: number;
  /** Distinct `task` values. */
  readonly tasks: number;
}

/** Rows per task label pool: a fifth as many tasks as rows, drawn with a Zipf-like skew. */
const ROWS_PER_TASK = 5;
/** Share of rows (and of tasks) in Chinese. */
const CHINESE_SHARE = 1 / 3;
/** Share of rows with a non-empty `input`. */
const INPUT_SHARE = 0.2;
/**
 * Cap on a response, in words (English) or phrases (Chinese). Rows are kept short (median response
 * 5 words or 3 phrases) so that 100,000 of them score within the benchmark's time budget on the tiny
 * model; the long tail is still there to exercise padding and the one-shot sequences' lengths.
 */
const MAX_RESPONSE_WORDS = 120;

const ENGLISH_WORDS = (
  "the a of and to in is that for it as with was on be by this are from at or an which have not " +
  "data model time people water city river music garden market letter school story table window " +
  "question answer example summary list number value result method system energy process report " +
  "write explain describe compare classify translate summarise rewrite list suggest identify " +
  "quickly carefully often never always usually simple clear short long important useful common " +
  "first second next last every each other many few several small large new old good better best " +
  "because however therefore although while when where why how what who whose since until unless"
).split(" ");

const CHINESE_PHRASES = (
  "我们 今天 天气 学习 工作 问题 答案 数据 模型 城市 河流 音乐 花园 市场 信件 学校 故事 " +
  "桌子 窗户 例子 总结 方法 系统 能量 过程 报告 写 解释 描述 比较 分类 翻译 改写 建议 识别 " +
  "快速 仔细 经常 从不 总是 简单 清楚 重要 有用 常见 第一 第二 下一个 最后 每个 其他 许多 " +
  "因为 但是 所以 虽然 当 哪里 为什么 怎么 什么 谁 的 了 在 是 和 有 一个 这个 那个 可以"
).split(" ");

const ENGLISH_VERBS = ["Write", "Explain", "Describe", "Summarise", "Classify", "Translate", "Rewrite", "List", "Suggest", "Compare"];
const CHINESE_VERBS = ["写出", "解释", "描述", "总结", "分类", "翻译", "改写", "列出", "建议", "比较"];

/** mulberry32: a small, fast, seedable generator; the same seed gives the same file on every machine. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A log-normal count with the given median, clamped to `[1, max]`: Alpaca's lengths are skewed so. */
function skewedCount(random: () => number, median: number, spread: number, max: number): number {
  // Box-Muller on two uniforms; 1 − u keeps the logarithm's argument in (0, 1].
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.max(1, Math.min(max, Math.round(median * Math.exp(spread * normal))));
}

function text(random: () => number, chinese: boolean, count: number): string {
  const pool = chinese ? CHINESE_PHRASES : ENGLISH_WORDS;
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = pool[Math.floor(random() * pool.length)];
    // A sentence every dozen words keeps punctuation in the mix.
    words.push(i % 12 === 11 ? `${word}${chinese ? "。" : "."}` : word);
  }
  return chinese ? words.join("") : words.join(" ");
}

/** One task: its language and the instruction its rows share a stem of. */
interface Task {
  readonly label: string;
  readonly chinese: boolean;
  readonly stem: string;
}

function taskOf(random: () => number, index: number): Task {
  const chinese = random() < CHINESE_SHARE;
  const verbs = chinese ? CHINESE_VERBS : ENGLISH_VERBS;
  const verb = verbs[Math.floor(random() * verbs.length)];
  const stem = chinese ? `${verb}${text(random, true, 2 + Math.floor(random() * 4))}` : `${verb} ${text(random, false, 3 + Math.floor(random() * 6))}`;
  return { label: `task-${index}`, chinese, stem };
}

/**
 * Writes `rows` JSON Lines to `file` (replacing it), the same bytes for the same `rows` and `seed`.
 * Tasks are drawn with a skew (index ⌊T·u²⌋ of T = rows / 5 tasks), so low-numbered tasks hold many
 * rows and the tail holds singletons; rows of a task share its instruction stem and language.
 *
 * @example
 * await writeSyntheticJsonl(path.join(dir, "big.jsonl"), 100_000, 1);
 */
export async function writeSyntheticJsonl(file: string, rows: number, seed: number): Promise<SyntheticDatasetStats> {
  if (!Number.isSafeInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer, got ${rows}`);
  const random = createRandom(seed);
  const taskCount = Math.max(1, Math.ceil(rows / ROWS_PER_TASK));
  const tasks: Task[] = Array.from({ length: taskCount }, (_, i) => taskOf(random, i));
  const used = new Set<number>();
  const out = createWriteStream(file);
  let bytes = 0;
  for (let row = 0; row < rows; row++) {
    const u = random();
    const taskIndex = Math.floor(taskCount * u * u);
    used.add(taskIndex);
    const task = tasks[taskIndex];
    const instruction = task.chinese
      ? `${task.stem}${text(random, true, skewedCount(random, 1, 0.6, 20))}。`
      : `${task.stem} ${text(random, false, skewedCount(random, 2, 0.6, 30))}.`;
    const input = random() < INPUT_SHARE ? text(random, task.chinese, skewedCount(random, 4, 0.8, 60)) : "";
    const output = text(random, task.chinese, skewedCount(random, task.chinese ? 3 : 5, 1, MAX_RESPONSE_WORDS));
    const line = `${JSON.stringify({ id: `syn-${row}`, task: task.label, instruction, input, output })}\n`;
    bytes += Buffer.byteLength(line, "utf8");
    if (!out.write(line)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  out.end();
  await finished(out);
  return { rows, bytes, tasks: used.size };
}
