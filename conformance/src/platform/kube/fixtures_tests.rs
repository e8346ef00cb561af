//! Tests of `fixtures.rs`.

use super::*;

fn peer(host: &str, port: u16) -> Peer {
    let mut labels = host.split('.');
    Peer {
        host: host.into(),
        service: labels.next().unwrap().into(),
        namespace: labels.next().unwrap_or("default").into(),
        port,
        https: false,
    }
}

fn peers() -> Peers {
    Peers {
        config_server: peer("config-server.lightapi.svc.cluster.local", 8435),
        controller: peer("controller.lightapi.svc.cluster.local", 8438),
    }
}

fn identity() -> Identity {
    Identity {
        service_id: "com.example.mcp-gateway-1.0.0".into(),
        env_tag: "test".into(),
        host: "local.test".into(),
        advertised_address: "gw-light-gateway.light-gateway".into(),
        protocol: "http".into(),
        port: 8080,
    }
}

fn objects() -> FixtureObjects {
    fixture_objects(
        &peers(),
        &identity(),
        "light-gateway-fixtures:0.1.0",
        "handler.handlers: [mcp]\n",
    )
    .unwrap()
}

#[test]
fn fixtures_live_where_the_bootstrap_values_point() {
    let objects = objects();
    assert_eq!(objects.namespaces, ["lightapi", "tools"]);
    let placed: Vec<(&str, &str, &str, u16)> = objects
        .fixtures
        .iter()
        .map(|f| (f.name.as_str(), f.namespace.as_str(), f.service.as_str(), f.port))
        .collect();
    assert_eq!(
        placed,
        [
            ("config-server", "lightapi", "config-server", 8435),
            ("controller", "lightapi", "controller", 8438),
            ("key-service", "lightapi", "key-service", 8436),
            ("backend-a", "tools", "mcp-backend-a", 8080),
            ("backend-b", "tools", "mcp-backend-b", 8080),
        ]
    );
    for (service, fixture) in objects.services.iter().zip(&objects.fixtures) {
        assert_eq!(service.metadata.name.as_deref(), Some(fixture.service.as_str()));
        assert_eq!(service.metadata.namespace.as_deref(), Some(fixture.namespace.as_str()));
        let ports: Vec<(String, i32)> = service
            .spec
            .as_ref()
            .unwrap()
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.clone().unwrap(), p.port))
            .collect();
        assert_eq!(
            ports,
            [
                ("main".to_string(), i32::from(fixture.port)),
                ("admin".to_string(), 9000)
            ]
        );
        assert_eq!(
            service.spec.as_ref().unwrap().selector.as_ref(),
            Some(&fixture.labels())
        );
    }
}

#[test]
fn commands_listen_on_every_interface_with_the_admin_port_and_their_flags() {
    let objects = objects();
    let commands: Vec<Vec<String>> = objects
        .deployments
        .iter()
        .map(|d| {
            d.spec.template.spec.as_ref().unwrap().containers[0]
                .command
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(
        commands[0],
        [
            "/app/mock-config-server",
            "--listen",
            "0.0.0.0:8435",
            "--admin-listen",
            "0.0.0.0:9000",
            "--data-dir",
            "/data"
        ]
    );
    assert_eq!(commands[1][0], "/app/mock-controller");
    assert_eq!(commands[1][2], "0.0.0.0:8438");
    assert_eq!(commands[2][0], "/app/mock-key-service");
    assert_eq!(
        commands[4],
        [
            "/app/mock-mcp-server",
            "--listen",
            "0.0.0.0:8080",
            "--admin-listen",
            "0.0.0.0:9000",
            "--instance",
            "backend-b",
            "--session-mode",
            "stateless",
            "--any-host"
        ]
    );
}

#[test]
fn the_runtime_config_is_mounted_as_the_data_dir_tree() {
    let objects = objects();
    assert_eq!(objects.config_map.metadata.name.as_deref(), Some("config-server-data"));
    assert_eq!(objects.config_map.metadata.namespace.as_deref(), Some("lightapi"));
    assert_eq!(
        objects.config_map.data.as_ref().unwrap()["values.yml"],
        "handler.handlers: [mcp]\n"
    );
    let pod = objects.deployments[0].spec.template.spec.clone().unwrap();
    let volume = pod.volumes.unwrap().into_iter().find(|v| v.name == "data").unwrap();
    let source = volume.config_map.unwrap();
    assert_eq!(source.name, "config-server-data");
    assert_eq!(
        source.items.unwrap()[0].path,
        "local.test/com.example.mcp-gateway-1.0.0/test/values.yml"
    );
    let mount = pod.containers[0]
        .volume_mounts
        .clone()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "data")
        .unwrap();
    assert_eq!((mount.mount_path.as_str(), mount.read_only), ("/data", Some(true)));
    // Only config-server gets the data dir.
    let controller = objects.deployments[1].spec.template.spec.clone().unwrap();
    assert!(controller.volumes.unwrap().iter().all(|v| v.name != "data"));
}

#[test]
fn pods_run_unprivileged_with_the_admin_health_as_readiness() {
    for d in objects().deployments {
        let spec = d.spec;
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
        assert_eq!(spec.selector.match_labels, spec.template.metadata.unwrap().labels);
        let container = &spec.template.spec.as_ref().unwrap().containers[0];
        assert_eq!(container.image.as_deref(), Some("light-gateway-fixtures:0.1.0"));
        let probe = container.readiness_probe.clone().unwrap().http_get.unwrap();
        assert_eq!(
            (probe.path.as_deref(), probe.port),
            (Some("/health"), IntOrString::String("admin".into()))
        );
        let security = container.security_context.clone().unwrap();
        assert_eq!(security.run_as_user, Some(999));
        assert_eq!(security.read_only_root_filesystem, Some(true));
    }
}

#[test]
fn namespaces_carry_the_label_network_policies_select() {
    let ns = namespace("tools");
    assert_eq!(ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"], "tools");
}

#[test]
fn https_peers_and_clashing_names_are_refused_with_the_reason() {
    let mut https = peers();
    https.controller.https = true;
    let err = fixture_objects(&https, &identity(), "i", "").unwrap_err().to_string();
    assert!(err.contains("portalRegistry.portalUrl is https://controller"), "{err}");
    let mut clash = peers();
    clash.controller = clash.config_server.clone();
    let err = fixture_objects(&clash, &identity(), "i", "").unwrap_err().to_string();
    assert!(err.contains("both config-server.lightapi"), "{err}");
    let mut bad = identity();
    bad.host = "a/b".into();
    let err = fixture_objects(&peers(), &bad, "i", "").unwrap_err().to_string();
    assert!(err.contains("startup.host \"a/b\""), "{err}");
}

#[test]
fn selectors_join_labels() {
    assert_eq!(
        objects().fixtures[3].selector(),
        "app.kubernetes.io/name=mcp-backend-a,app.kubernetes.io/part-of=light-gateway-conformance"
    );
}
