//! The load generator: wrk (Debian's), one thread, N keep-alive connections, driven by a Lua
//! script made from a [`RequestSpec`]. Requests are formatted once (one per session for legacy
//! sessions, sent round-robin); every response is checked in Lua: a status outside 2xx, or for
//! MCP a body without `"result"` or with `"error"`, counts as an error. `done()` prints one
//! `BENCH_RESULT {json}` line that [`parse`] reads.

use crate::mcp::RequestSpec;
use crate::procs::Proc;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The marker of the result line.
const MARKER: &str = "BENCH_RESULT ";

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WrkResult {
    /// Completed requests.
    pub requests: u64,
    /// Measured time, microseconds.
    pub duration_us: u64,
    /// Connect errors.
    pub connect: u64,
    /// Read errors.
    pub read: u64,
    /// Write errors.
    pub write: u64,
    /// Timeouts.
    pub timeout: u64,
    /// Answers with a status outside 2xx (checked in Lua).
    pub bad_status: u64,
    /// 2xx answers whose body was not a JSON-RPC result.
    pub bad_body: u64,
    /// Answers the Lua check saw.
    pub checked: u64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Slowest request, microseconds.
    pub max_us: f64,
}

impl WrkResult {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        if self.duration_us == 0 {
            return 0.0;
        }
        self.requests as f64 * 1e6 / self.duration_us as f64
    }

    /// Every kind of error together.
    pub fn errors(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.bad_status + self.bad_body
    }
}

/// `s` as a Lua string literal.
pub fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const SCRIPT_BODY: &str = r#"
local reqs = {}
local idx = 0
bad_status, bad_body, checked = 0, 0, 0

function init(args)
  if #sessions == 0 then
    reqs[1] = wrk.format(method, path, headers, body)
  else
    for i, id in ipairs(sessions) do
      local h = {}
      for k, v in pairs(headers) do h[k] = v end
      h["Mcp-Session-Id"] = id
      reqs[i] = wrk.format(method, path, h, body)
    end
  end
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function response(status, hdrs, b)
  checked = checked + 1
  if status < 200 or status > 299 then
    bad_status = bad_status + 1
  elseif check_result and (not string.find(b, '"result"', 1, true) or string.find(b, '"error"', 1, true)) then
    bad_body = bad_body + 1
  end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local bs, bb, ck = 0, 0, 0
  for _, t in ipairs(threads) do
    bs = bs + t:get("bad_status"); bb = bb + t:get("bad_body"); ck = ck + t:get("checked")
  end
  local e = summary.errors
  io.write(string.format('BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"timeout":%d,"bad_status":%d,"bad_body":%d,"checked":%d,"p50_us":%.1f,"p99_us":%.1f,"max_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, bs, bb, ck,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#;

/// The Lua script for `spec`.
pub fn script(spec: &RequestSpec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "method = {}", lua_string(spec.method));
    let _ = writeln!(out, "path = {}", lua_string(spec.path));
    let body = spec.body.as_deref().map_or_else(|| "nil".to_owned(), lua_string);
    let _ = writeln!(out, "body = {body}");
    let _ = writeln!(out, "check_result = {}", spec.check_result);
    out.push_str("headers = {\n");
    for (name, value) in &spec.headers {
        let _ = writeln!(out, "  [{}] = {},", lua_string(name), lua_string(value));
    }
    out.push_str("}\nsessions = {\n");
    for id in &spec.sessions {
        let _ = writeln!(out, "  {},", lua_string(id));
    }
    out.push_str("}\n");
    out.push_str(SCRIPT_BODY);
    out
}

/// Reads the `BENCH_RESULT` line of wrk's output.
pub fn parse(stdout: &str) -> Result<WrkResult> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(MARKER))
        .context("wrk printed no BENCH_RESULT line")?;
    serde_json::from_str(line).with_context(|| format!("reading {line:?}"))
}

/// Runs wrk for `duration` with `connections` connections against `url` (the script's path is
/// appended by the script itself, so `url` is the base).
pub fn run(wrk: &Path, script_file: &Path, url: &str, connections: usize, duration: Duration) -> Result<WrkResult> {
    let mut cmd = Command::new(wrk);
    cmd.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{}s", duration.as_secs().max(1)),
    ])
    .args(["--timeout", "5s", "-s"])
    .arg(script_file)
    .arg(url);
    let mut proc = Proc::spawn("wrk", cmd, false)?;
    let deadline = duration + Duration::from_secs(30);
    let start = std::time::Instant::now();
    while !proc.exited() {
        if start.elapsed() > deadline {
            bail!("wrk did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The reader thread may still be draining the pipe.
    for _ in 0..100 {
        let out = proc.stdout.snapshot().join("\n");
        if out.contains(MARKER) {
            return parse(&out);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    bail!(
        "wrk: no result; stderr:\n{}\nstdout:\n{}",
        proc.stderr.tail(20),
        proc.stdout.tail(20)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::{Target, Workload, spec};
    use rstest::rstest;

    #[rstest]
    #[case("plain", "\"plain\"")]
    #[case(r#"{"a":"b\n"}"#, r#""{\"a\":\"b\\n\"}""#)]
    #[case("tab\there", "\"tab\\009here\"")]
    fn lua_strings_are_escaped(#[case] input: &str, #[case] lua: &str) {
        assert_eq!(lua_string(input), lua);
    }

    #[test]
    fn the_result_line_is_read() {
        let out = "Running 5s test\nBENCH_RESULT {\"requests\":1000,\"duration_us\":2000000,\"connect\":0,\
                   \"read\":1,\"write\":0,\"timeout\":0,\"bad_status\":2,\"bad_body\":3,\"checked\":999,\
                   \"p50_us\":250.0,\"p99_us\":900.5,\"max_us\":4000.0}\n";
        let r = parse(out).unwrap();
        assert_eq!(r.rps(), 500.0);
        assert_eq!(r.errors(), 6);
        assert_eq!(r.p99_us, 900.5);
    }

    #[test]
    fn no_result_line_is_an_error() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
    }

    #[test]
    fn the_script_carries_sessions_and_headers() {
        let s = script(&spec(
            Workload::Legacy,
            Target::Direct,
            vec!["s-1".into(), "s-2".into()],
            "",
        ));
        assert!(s.contains("\"s-1\",") && s.contains("\"s-2\","));
        assert!(s.contains("[\"MCP-Protocol-Version\"] = \"2025-11-25\""));
        assert!(s.contains("check_result = true"));
        let health = script(&spec(Workload::Health, Target::Gateway, Vec::new(), ""));
        assert!(health.contains("body = nil") && health.contains("check_result = false"));
    }
}
