//! Run as the non-root image user.

use futures_util::FutureExt;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-non-root",
    description: "The pod runs as uid/gid 999 with runAsNonRoot, fsGroup 999, no privilege escalation, all capabilities dropped and RuntimeDefault seccomp.",
    checklist: "Run as the non-root image user.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let pod = ctx.deployment.pod_spec()?;
    let pod_sc = pod.security_context.clone().unwrap_or_default();
    let container = pod.containers.first().ok_or_else(|| Failure("no container".into()))?;
    let sc = container.security_context.clone().unwrap_or_default();
    let user = sc.run_as_user.or(pod_sc.run_as_user);
    let group = sc.run_as_group.or(pod_sc.run_as_group);
    ensure(user == Some(999) && group == Some(999), || {
        format!("runs as {user:?}:{group:?}, not 999:999")
    })?;
    ensure(sc.run_as_non_root.or(pod_sc.run_as_non_root) == Some(true), || {
        "runAsNonRoot is not true".into()
    })?;
    ensure(pod_sc.fs_group == Some(999), || {
        format!("fsGroup is {:?}", pod_sc.fs_group)
    })?;
    ensure(sc.allow_privilege_escalation == Some(false), || {
        "allowPrivilegeEscalation is not false".into()
    })?;
    let drops = sc.capabilities.and_then(|c| c.drop).unwrap_or_default();
    ensure(drops.iter().any(|d| d == "ALL"), || {
        format!("capabilities drop {drops:?}, not ALL")
    })?;
    let seccomp = sc
        .seccomp_profile
        .or(pod_sc.seccomp_profile)
        .map(|p| p.type_)
        .unwrap_or_default();
    ensure(seccomp == "RuntimeDefault", || format!("seccomp profile {seccomp:?}"))?;
    Ok("999:999, runAsNonRoot, fsGroup 999, drop ALL, RuntimeDefault seccomp".into())
}
