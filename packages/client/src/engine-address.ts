/** A gRPC engine endpoint: `host:port`, as given to `--engine` or `new EngineClient(...)`. */
export interface EngineAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses a comma-separated engine list such as `"10.0.0.5:50051,gpu-2:50051"` or
 * `"[::1]:50051"`. Whitespace around entries is ignored; duplicates are kept out.
 *
 * @throws RangeError naming the offending entry when it has no port, a port outside 1–65535, or
 *   an empty host.
 */
export function parseEngineAddresses(list: string): EngineAddress[] {
  const seen = new Set<string>();
  const addresses: EngineAddress[] = [];
  for (const raw of list.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const address = parseEngineAddress(entry);
    const key = formatEngineAddress(address);
    if (!seen.has(key)) {
      seen.add(key);
      addresses.push(address);
    }
  }
  if (addresses.length === 0) throw new RangeError(`no engine address in "${list}"; expected host:port[,host:port...]`);
  return addresses;
}

/** Parses one `host:port` (IPv6 hosts in brackets). */
export function parseEngineAddress(entry: string): EngineAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(entry);
  if (!match) throw new RangeError(`engine address "${entry}" is not host:port (IPv6 hosts go in brackets: [::1]:50051)`);
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`engine address "${entry}" has port ${match[3]}, outside 1-65535`);
  return { host, port };
}

/** The gRPC target string for an address (`host:port`, IPv6 in brackets). */
export function formatEngineAddress(address: EngineAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
