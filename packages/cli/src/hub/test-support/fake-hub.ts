/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1, for tests: it serves model directories the way
 * huggingface.co does, closely enough for `@huggingface/hub` and `huggingface_hub` clients:
 * - `GET /api/models/{repo}/revision/{rev}`: `{ id, sha, siblings: [{ rfilename }], … }`;
 * - `GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=…`: entries with `oid`, `size` and, for LFS
 *   files, `lfs: { oid (sha256), size, pointerSize }`, paginated with a `Link: <…>; rel="next"` header;
 * - `HEAD|GET /{repo}/resolve/{rev}/{path}`: small files directly with `ETag: "<git blob sha1>"`;
 *   LFS files (`*.onnx`, `*.onnx_data*`) by a 302 to a second server on another port (another origin,
 *   like the hub's CDN) with `X-Linked-Etag: "<sha256>"` and `X-Linked-Size`; `X-Repo-Commit` on both;
 *   `Range` requests answered 206;
 * - errors with the hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`,
 *   `GatedRepo`): a repository with a `token` answers 401 without `Authorization: Bearer <token>`
 *   and 403 with another token.
 * Every request is recorded, and a download can be made to drop its connection part-way.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

/** A repository the fake hub serves. */
export interface FakeRepo {
  /** The directory whose files are the repository's content. */
  readonly dir: string;
  /** When set, the repository is gated: requests must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** One request the fake hub received. */
export interface RecordedRequest {
  /** `hub` for the API and resolve server, `cdn` for the server large files redirect to. */
  readonly server: "hub" | "cdn";
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly authorization?: string;
  readonly range?: string;
}

/** A running fake hub. */
export interface FakeHub {
  /** Base URL to use as `HF_ENDPOINT`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The commit hash `main` of `repo` resolves to. */
  commit(repo: string): string;
  /** Requests that transfer file content (resolve GETs answered with a body, CDN GETs). */
  fileRequests(): RecordedRequest[];
  /** The next `times` downloads of `file` send `afterBytes` bytes of their body, then drop the connection. */
  dropConnection(file: string, afterBytes: number, times?: number): void;
  /** The next download of `file` has one byte changed (the listing keeps the true hash). */
  corruptNextDownload(file: string): void;
  /** Answer `Range` requests with the whole file (200), as some proxies do. */
  ignoreRanges(ignore: boolean): void;
  close(): Promise<void>;
}

interface ServedFile {
  readonly path: string;
  readonly bytes: Buffer;
  readonly gitOid: string;
  readonly sha256: string;
  readonly lfs: boolean;
}

interface ServedRepo {
  readonly token?: string;
  readonly commit: string;
  readonly files: Map<string, ServedFile>;
}

/** Starts a fake hub serving `repos` (keyed by `org/name`); `treePageSize` splits tree listings into pages. */
export async function startFakeHub(options: { readonly repos: Readonly<Record<string, FakeRepo>>; readonly treePageSize?: number }): Promise<FakeHub> {
  const repos = new Map<string, ServedRepo>();
  for (const [name, repo] of Object.entries(options.repos)) repos.set(name, await loadRepo(repo));
  const bySha = new Map<string, ServedFile>();
  for (const repo of repos.values()) for (const file of repo.files.values()) if (file.lfs) bySha.set(file.sha256, file);

  const requests: RecordedRequest[] = [];
  const drops = new Map<string, { afterBytes: number; times: number }>();
  const corrupt = new Set<string>();
  let rangesIgnored = false;
  const pageSize = options.treePageSize ?? 1000;
  let hubUrl = "";
  let cdnUrl = "";

  const record = (server: RecordedRequest["server"], req: IncomingMessage) =>
    requests.push({
      server,
      method: req.method ?? "GET",
      url: req.url ?? "",
      ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
    });

  const sendFile = (req: IncomingMessage, res: ServerResponse, file: ServedFile, headers: Record<string, string>) => {
    const total = file.bytes.length;
    const range = rangesIgnored ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = total - 1;
    if (range) {
      start = Number(range[1]);
      end = range[2] === "" ? total - 1 : Math.min(Number(range[2]), total - 1);
      if (start >= total) {
        res.writeHead(416, { "content-range": `bytes */${total}` }).end();
        return;
      }
    }
    let body = file.bytes.subarray(start, end + 1);
    if (req.method !== "HEAD" && corrupt.delete(file.path)) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    res.writeHead(range ? 206 : 200, {
      ...headers,
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "content-length": String(body.length),
      ...(range ? { "content-range": `bytes ${start}-${end}/${total}` } : {}),
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const drop = drops.get(file.path);
    if (drop && drop.times > 0 && body.length > drop.afterBytes) {
      drop.times--;
      res.flushHeaders();
      res.write(body.subarray(0, drop.afterBytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  };

  const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(value));
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: message }, { "x-error-code": code, "x-error-message": message });

  const hub = createServer((req, res) => {
    record("hub", req);
    const url = new URL(req.url ?? "/", "http://hub");
    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
    const api = parts[0] === "api" && parts[1] === "models";
    const repoName = api ? `${parts[2]}/${parts[3]}` : `${parts[0]}/${parts[1]}`;
    const repo = repos.get(repoName);
    if (!repo) return fail(res, 404, "RepoNotFound", "Repository not found");
    if (repo.token !== undefined) {
      const auth = req.headers.authorization;
      if (auth === undefined) return fail(res, 401, "GatedRepo", `Access to model ${repoName} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      if (auth !== `Bearer ${repo.token}`) return fail(res, 403, "GatedRepo", `Access to model ${repoName} is restricted and you are not in the authorized list.`);
    }
    const action = api ? parts[4] : parts[2];
    const revision = api ? parts[5] : parts[3];
    if (revision !== "main" && revision !== repo.commit) return fail(res, 404, "RevisionNotFound", `Invalid rev id: ${revision}`);
    const rest = (api ? parts.slice(6) : parts.slice(4)).join("/");

    if (api && action === "revision") {
      return json(res, 200, {
        _id: createHash("sha1").update(repoName).digest("hex").slice(0, 24),
        id: repoName,
        sha: repo.commit,
        private: false,
        gated: repo.token === undefined ? false : "manual",
        downloads: 0,
        likes: 0,
        lastModified: "2026-01-01T00:00:00.000Z",
        siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
      });
    }
    if (api && action === "tree") {
      const recursive = url.searchParams.get("recursive") === "true";
      const entries = treeEntries(repo, rest, recursive);
      const cursor = Number(url.searchParams.get("cursor") ?? 0);
      const page = entries.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = {};
      if (cursor + pageSize < entries.length) {
        const next = new URL(`${hubUrl}${url.pathname}`);
        for (const [key, value] of url.searchParams) if (key !== "cursor") next.searchParams.set(key, value);
        next.searchParams.set("cursor", String(cursor + pageSize));
        headers.link = `<${next.href}>; rel="next"`;
      }
      return json(res, 200, page, headers);
    }
    if (!api && action === "resolve") {
      const file = repo.files.get(rest);
      if (!file) return fail(res, 404, "EntryNotFound", `${rest} does not exist on "${revision}"`);
      const common = { "x-repo-commit": repo.commit };
      if (file.lfs) {
        res.writeHead(302, {
          ...common,
          location: `${cdnUrl}/blobs/${file.sha256}?signature=fake`,
          etag: `"${file.gitOid}"`,
          "x-linked-etag": `"${file.sha256}"`,
          "x-linked-size": String(file.bytes.length),
        });
        return res.end();
      }
      return sendFile(req, res, file, { ...common, etag: `"${file.gitOid}"` });
    }
    fail(res, 404, "NotFound", `no route for ${url.pathname}`);
  });

  const cdn = createServer((req, res) => {
    record("cdn", req);
    const sha = /^\/blobs\/([0-9a-f]{64})$/.exec(new URL(req.url ?? "/", "http://cdn").pathname)?.[1];
    const file = sha === undefined ? undefined : bySha.get(sha);
    if (!file) return void res.writeHead(404).end("NoSuchKey");
    sendFile(req, res, file, { etag: `"${file.sha256}"` });
  });

  hubUrl = `http://127.0.0.1:${await listen(hub)}`;
  cdnUrl = `http://127.0.0.1:${await listen(cdn)}`;
  return {
    url: hubUrl,
    requests,
    commit(repo) {
      const served = repos.get(repo);
      if (!served) throw new Error(`fake hub has no ${repo}`);
      return served.commit;
    },
    fileRequests: () => requests.filter((r) => r.method === "GET" && (r.server === "cdn" || r.url.includes("/resolve/"))),
    dropConnection(file, afterBytes, times = 1) {
      drops.set(file, { afterBytes, times });
    },
    corruptNextDownload(file) {
      corrupt.add(file);
    },
    ignoreRanges(ignore) {
      rangesIgnored = ignore;
    },
    async close() {
      await Promise.all(
        [hub, cdn].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

function treeEntries(repo: ServedRepo, under: string, recursive: boolean): unknown[] {
  const prefix = under === "" ? "" : `${under}/`;
  const dirs = new Set<string>();
  const files: ServedFile[] = [];
  for (const file of repo.files.values()) {
    if (!file.path.startsWith(prefix)) continue;
    const inner = file.path.slice(prefix.length).split("/");
    if (inner.length > 1) dirs.add(prefix + inner[0]);
    if (inner.length === 1 || recursive) files.push(file);
    if (recursive) for (let i = 1; i < inner.length - 1; i++) dirs.add(prefix + inner.slice(0, i + 1).join("/"));
  }
  const directoryEntries = [...dirs].sort().map((dir) => ({ type: "directory", oid: createHash("sha1").update(dir).digest("hex"), size: 0, path: dir }));
  const fileEntries = files.map((file) => ({
    type: "file",
    oid: file.lfs ? createHash("sha1").update(`pointer ${file.sha256}`).digest("hex") : file.gitOid,
    size: file.bytes.length,
    path: file.path,
    ...(file.lfs ? { lfs: { oid: file.sha256, size: file.bytes.length, pointerSize: 134 } } : {}),
  }));
  return [...directoryEntries, ...fileEntries];
}

async function loadRepo(repo: FakeRepo): Promise<ServedRepo> {
  const files = new Map<string, ServedFile>();
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(path.join(repo.dir, relative))).sort()) {
      const child = relative === "" ? name : `${relative}/${name}`;
      if ((await stat(path.join(repo.dir, child))).isDirectory()) await walk(child);
      else {
        const bytes = await readFile(path.join(repo.dir, child));
        files.set(child, {
          path: child,
          bytes,
          gitOid: createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex"),
          sha256: createHash("sha256").update(bytes).digest("hex"),
          lfs: /\.onnx$|\.onnx_data|\.onnx\.data$|\.bin$|\.safetensors$/.test(child),
        });
      }
    }
  };
  await walk("");
  const commit = createHash("sha1")
    .update([...files.values()].map((f) => `${f.path} ${f.gitOid}`).join("\n"))
    .digest("hex");
  return { ...(repo.token === undefined ? {} : { token: repo.token }), commit, files };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return (server.address() as AddressInfo).port;
}
