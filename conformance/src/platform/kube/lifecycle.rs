//! How the kube platform starts, stops and switches what it deployed: the first wait for the
//! gateway, rollouts and in-place restarts with their plans, signals into the gateway's
//! container, emptying the cache and switching a backend. A child of `kube`, so it shares
//! `KubeTarget`'s private state without widening it.

use super::*;

impl KubeTarget {
    /// Waits for the freshly installed gateway to admit traffic.
    pub(super) async fn first_start(&self) -> Result<Started, TargetError> {
        let pod = self.current_pod();
        let baseline = ops::restart_count(&self.get_pod(&pod).await?, &self.gateway.container);
        Ok(self.wait_admits(&pod, baseline).await)
    }

    pub(super) fn stop_forwards(&self) {
        for forward in &self.forwards {
            forward.stop();
        }
    }

    pub(super) fn current_pod(&self) -> String {
        self.current.read().map(|p| p.clone()).unwrap_or_default()
    }

    pub(super) fn set_current_pod(&self, pod: &str) {
        if let Ok(mut current) = self.current.write() {
            *current = pod.to_string();
        }
    }

    pub(super) async fn get_pod(&self, pod: &str) -> Result<Pod, TargetError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.gateway.namespace);
        pods.get(pod)
            .await
            .map_err(|e| TargetError::operation(format!("reading pod {}/{pod}", self.gateway.namespace), e))
    }

    /// Waits until the gateway in `pod` admits traffic through the gateway forward (the pod's
    /// Ready condition only says `/health` answers), or its container exits after restart count
    /// `baseline`.
    pub(super) async fn wait_admits(&self, pod: &str, baseline: i32) -> Started {
        self.set_current_pod(pod);
        let mut next_look = tokio::time::Instant::now();
        let exited = || {
            // wait_ready polls often; the API server is asked at most once a second.
            let due = tokio::time::Instant::now() >= next_look;
            if due {
                next_look = tokio::time::Instant::now() + Duration::from_secs(1);
            }
            let (client, namespace, pod, container) = (
                self.client.clone(),
                self.gateway.namespace.clone(),
                pod.to_string(),
                self.gateway.container.clone(),
            );
            async move {
                if !due {
                    return None;
                }
                let pods: Api<Pod> = Api::namespaced(client, &namespace);
                let current = pods.get(&pod).await.ok()?;
                ops::exited_since(&current, &container, baseline)
            }
        };
        crate::platform::wait_ready(&self.http, &self.endpoints.gateway, self.waits.startup, exited).await
    }

    /// Re-renders the chart with `values`.
    pub(super) fn render(&self, values: serde_json::Value) -> Result<Deployment, TargetError> {
        let what = "re-rendering the chart for a restart";
        let rendered = self
            .renderer
            .render(&self.chart, &values, &self.deployed.release)
            .map_err(|e| TargetError::operation(what, e))?;
        Deployment::new(self.deployed.release.clone(), values, rendered).map_err(|e| TargetError::operation(what, e))
    }

    /// Restarts by applying the chart rendered with `values` and waiting for the rollout.
    pub(super) async fn roll(
        &self,
        state: &mut State,
        values: serde_json::Value,
        empty_cache: bool,
    ) -> Result<Started, TargetError> {
        let template = |d: &Deployment| {
            d.pod_template()
                .map_err(|e| TargetError::operation("reading the pod template", e))
        };
        let mut next = self.render(values.clone())?;
        if template(&next)? == template(&state.applied)? {
            // Nothing in the pod template changed: an annotation rolls the pods all the same.
            let mut values = values;
            restart::with_roll_annotation(&mut values, &chrono::Utc::now().to_rfc3339());
            next = self.render(values)?;
        }
        if empty_cache {
            self.empty_cache().await?;
        }
        let old = self.current_pod();
        state.previous = Previous::Captured(LogCapture::start(
            &self.client,
            &self.gateway.namespace,
            &old,
            self.waits.rollout + self.waits.startup,
        ));
        for object in provision::chart_objects(&next)? {
            self.applier.apply(&object, &self.gateway.namespace).await?;
        }
        state.applied = next;
        let end = restart::wait_rollout_or_exit(
            &self.client,
            &self.gateway.namespace,
            &self.gateway.deployment,
            &self.gateway.selector,
            &self.waits,
        )
        .await?;
        match end {
            RolloutEnd::Complete { hash } => {
                let pods = ops::list_pods(&self.client, &self.gateway.namespace, &self.gateway.selector).await?;
                let Some(pod) = ops::newest_ready(&pods, &self.gateway.container, hash.as_deref()) else {
                    return Ok(Started::NotReady(
                        "the rollout completed but no pod of the new revision is Ready".into(),
                    ));
                };
                let baseline = pods
                    .iter()
                    .find(|p| p.metadata.name.as_deref() == Some(pod.as_str()))
                    .map_or(0, |p| ops::restart_count(p, &self.gateway.container));
                Ok(self.wait_admits(&pod, baseline).await)
            }
            RolloutEnd::Exited { pod, code } => {
                // Its logs are the ones a check wants to read next.
                self.set_current_pod(&pod);
                Ok(Started::Exited(code))
            }
            RolloutEnd::Stuck { pod, reason } => {
                if let Some(pod) = pod {
                    self.set_current_pod(&pod);
                }
                Ok(Started::NotReady(reason))
            }
        }
    }

    /// Restarts the current pod's gateway container in place: SIGTERM to PID 1 (the gateway:
    /// the image's CMD is exec form), the kubelet starts it again, the emptyDir stays.
    pub(super) async fn restart_in_place(&self, state: &mut State) -> Result<Started, TargetError> {
        let pod = self.current_pod();
        let baseline = ops::restart_count(&self.get_pod(&pod).await?, &self.gateway.container);
        self.signal(&pod, "kill -TERM 1").await?;
        state.previous = Previous::SamePod(pod.clone());
        match restart::wait_in_place(
            &self.client,
            &self.gateway.namespace,
            &pod,
            &self.gateway.container,
            baseline,
            &self.waits,
        )
        .await?
        {
            InPlace::Ready => Ok(self.wait_admits(&pod, baseline + 1).await),
            InPlace::Exited(code) => Ok(Started::Exited(code)),
            InPlace::Waiting(why) => Ok(Started::NotReady(why)),
        }
    }

    /// Runs `sh -c <script>` in the gateway container of `pod`, requiring exit 0.
    pub(super) async fn signal(&self, pod: &str, script: &str) -> Result<(), TargetError> {
        let (code, output) = ops::exec(
            &self.client,
            &self.gateway.namespace,
            pod,
            &self.gateway.container,
            &["sh", "-c", script],
        )
        .await?;
        if code != 0 {
            return Err(TargetError::operation(
                format!("running `{script}` in {pod}"),
                format!("exit code {code}: {}", output.trim()),
            ));
        }
        Ok(())
    }

    /// Empties the PersistentVolumeClaim cache from inside a running gateway pod (the volume is
    /// shared, one pod suffices); the next pods start without it.
    pub(super) async fn empty_cache(&self) -> Result<(), TargetError> {
        let what = "emptying the PVC config cache";
        let mount = self
            .gateway
            .cache_mount
            .as_deref()
            .ok_or_else(|| TargetError::operation(what, "the gateway container mounts no PersistentVolumeClaim"))?;
        let pods = ops::list_pods(&self.client, &self.gateway.namespace, &self.gateway.selector).await?;
        let pod = ops::running(&pods, &self.gateway.container)
            .ok_or_else(|| TargetError::operation(what, "no gateway pod is running"))?;
        let (code, output) = ops::exec(
            &self.client,
            &self.gateway.namespace,
            &pod,
            &self.gateway.container,
            &["find", mount, "-mindepth", "1", "-delete"],
        )
        .await?;
        if code != 0 {
            return Err(TargetError::operation(
                what,
                format!("find {mount} -delete in {pod} exited with {code}: {}", output.trim()),
            ));
        }
        Ok(())
    }

    /// Scales a backend to one pod or none and waits until it is so.
    pub(super) async fn switch_backend(&self, instance: &str, up: bool) -> Result<(), TargetError> {
        let fixture = self
            .fixtures
            .iter()
            .find(|f| f.name == instance && BACKENDS.iter().any(|b| b.instance == instance))
            .ok_or_else(|| TargetError::operation(format!("switching backend {instance}"), "no such backend"))?;
        ops::scale(&self.client, &fixture.namespace, &fixture.service, i32::from(up)).await?;
        if up {
            api::wait_rollout(
                self.client.clone(),
                &fixture.namespace,
                &fixture.service,
                &self.timeouts,
            )
            .await
            .map(drop)
            .map_err(|why| TargetError::operation(format!("starting backend {instance}"), why))
        } else {
            ops::wait_no_pods(
                &self.client,
                &fixture.namespace,
                &fixture.selector(),
                self.timeouts.rollout,
                self.timeouts.poll_max,
            )
            .await
        }
    }
}
