//! Live: /config and the root filesystem refuse writes; the cache and /tmp accept them.

use futures_util::FutureExt;

use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::{Failure, ensure};

/// Paths probed with a write, and whether the write must succeed.
const PROBES: [(&str, bool); 4] = [
    ("/config/.conformance-write-probe", false),
    ("/app/.conformance-write-probe", false),
    ("/app/config-cache/.conformance-write-probe", true),
    ("/tmp/.conformance-write-probe", true),
];

/// The check.
pub static CHECK: Check = Check {
    id: "security-runtime-filesystem",
    description: "Inside the running container, writing to /config and the root filesystem fails while /app/config-cache and /tmp accept writes.",
    checklist: "Make /config read-only. Make only /app/config-cache writable.",
    profile: Profile::Security,
    features: &[Feature::Containers],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let mut seen = Vec::new();
    for (path, writable) in PROBES {
        let (code, out) = ctx
            .target
            .exec_gateway(&["sh", "-c", &format!("touch {path} && rm -f {path}")])
            .await?;
        let wrote = code == 0;
        ensure(wrote == writable, || {
            format!(
                "{path}: write {} but must {}: {}",
                if wrote { "succeeded" } else { "failed" },
                if writable { "succeed" } else { "fail" },
                out.trim()
            )
        })?;
        seen.push(format!("{path} {}", if wrote { "writable" } else { "read-only" }));
    }
    Ok(seen.join(", "))
}
