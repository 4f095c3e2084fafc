import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildFixtureModel } from "@sftscore/engine";
import { startFakeHub, type FakeHub } from "./fake-hub.js";

/**
 * Writes a model repository the way transformers.js-style exports lay one out: config and
 * tokenizer files at the root, `onnx/model.onnx` with its weights in `onnx/model.onnx_data`, a
 * float16 variant `onnx/model_fp16.onnx` (weights inline), plus files a pull must leave alone
 * (`README.md`, `pytorch_model.bin`).
 */
export async function writeFixtureRepo(dir: string): Promise<void> {
  await buildFixtureModel({ preset: "tiny", out: dir, externalData: true });
  await mkdir(path.join(dir, "onnx"), { recursive: true });
  // The graph refers to its data by a name relative to itself, so both move together.
  await rename(path.join(dir, "model.onnx"), path.join(dir, "onnx", "model.onnx"));
  await rename(path.join(dir, "model.onnx_data"), path.join(dir, "onnx", "model.onnx_data"));
  const fp16 = `${dir}-fp16`;
  await buildFixtureModel({ preset: "tiny", out: fp16, dtype: "float16" });
  await rename(path.join(fp16, "model.onnx"), path.join(dir, "onnx", "model_fp16.onnx"));
  await writeFile(path.join(dir, "generation_config.json"), `${JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })}\n`);
  await writeFile(path.join(dir, "special_tokens_map.json"), `${JSON.stringify({ bos_token: "<s>", eos_token: "</s>" })}\n`);
  await writeFile(path.join(dir, "pytorch_model.bin"), Buffer.alloc(10_000, 7));
}

/** A repository with weights but no ONNX graph, as most PyTorch models are published. */
export async function writePytorchOnlyRepo(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "config.json"), `${JSON.stringify({ model_type: "llama", vocab_size: 10 })}\n`);
  await writeFile(path.join(dir, "tokenizer.json"), "{}\n");
  await writeFile(path.join(dir, "model.safetensors"), Buffer.alloc(1000, 1));
}

/** The repositories {@link startFixtureHub} serves. */
export const FIXTURE_REPOS = {
  /** {@link writeFixtureRepo}'s layout. */
  tiny: "acme/tiny-llama",
  /** The same files, gated behind {@link FIXTURE_TOKEN}. */
  gated: "acme/gated-llama",
  /** {@link writePytorchOnlyRepo}'s layout. */
  pytorchOnly: "acme/pytorch-only",
} as const;

/** The token the gated fixture repository accepts. */
export const FIXTURE_TOKEN = "hf_fake_token_for_tests";

/** A fake hub serving {@link FIXTURE_REPOS}, and the directory the tiny repository was written from. */
export interface FixtureHub {
  readonly hub: FakeHub;
  /** The files of `acme/tiny-llama`, to compare downloads with. */
  readonly source: string;
  close(): Promise<void>;
}

/** Writes the fixture repositories to a temporary directory and serves them; `close` removes both. */
export async function startFixtureHub(options: { readonly treePageSize?: number } = {}): Promise<FixtureHub> {
  const root = await mkdtemp(path.join(tmpdir(), "sftscore-fake-hub-"));
  const source = path.join(root, "tiny-llama");
  await writeFixtureRepo(source);
  await writePytorchOnlyRepo(path.join(root, "pytorch-only"));
  const hub = await startFakeHub({
    repos: {
      [FIXTURE_REPOS.tiny]: { dir: source },
      [FIXTURE_REPOS.gated]: { dir: source, token: FIXTURE_TOKEN },
      [FIXTURE_REPOS.pytorchOnly]: { dir: path.join(root, "pytorch-only") },
    },
    ...(options.treePageSize === undefined ? {} : { treePageSize: options.treePageSize }),
  });
  return {
    hub,
    source,
    async close() {
      await hub.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
