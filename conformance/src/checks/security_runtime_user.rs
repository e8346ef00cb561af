//! Live: the gateway process runs as uid/gid 999 inside its container.

use futures_util::FutureExt;

use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-runtime-user",
    description: "Inside the running gateway container, `id -u` and `id -g` are 999.",
    checklist: "Run as the non-root image user.",
    profile: Profile::Security,
    features: &[Feature::Containers],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let (_, uid) = ctx.target.exec_gateway(&["id", "-u"]).await?;
    let (_, gid) = ctx.target.exec_gateway(&["id", "-g"]).await?;
    ensure(uid.trim() == "999" && gid.trim() == "999", || {
        format!("the container runs as {}:{}", uid.trim(), gid.trim())
    })?;
    Ok("id -u / id -g inside the container: 999:999".into())
}
