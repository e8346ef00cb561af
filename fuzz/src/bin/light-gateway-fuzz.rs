//! `light-gateway-fuzz <target>`: under AFL++ (built with the `afl` feature by `make fuzz`) it
//! is the fuzzed program, reading inputs from AFL; built without it, it runs the files named
//! after the target once each, which is how a crash AFL found is reproduced under a debugger.
//! `light-gateway-fuzz --list` names the targets.

use std::process::ExitCode;

use light_gateway_fuzz::{TARGETS, Target};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprintln!("usage: light-gateway-fuzz <target> [file...] | --list");
        return ExitCode::from(2);
    };
    if name == "--list" {
        for target in TARGETS {
            println!("{:<18}{}", target.name, target.about);
        }
        return ExitCode::SUCCESS;
    }
    let Some(target) = light_gateway_fuzz::target(name) else {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        eprintln!("unknown target '{name}'; targets: {}", names.join(", "));
        return ExitCode::from(2);
    };
    run(target, &args[1..])
}

/// AFL's persistent loop: many inputs per process, a panic aborts (AFL counts a crash).
#[cfg(feature = "afl")]
fn run(target: &Target, _files: &[String]) -> ExitCode {
    // One run before the loop sets up the target's runtime, servers and key set: AFL clears the
    // coverage map when the loop starts, so that setup does not count as unstable coverage.
    (target.run)(&[]);
    afl::fuzz!(|data: &[u8]| (target.run)(data));
    ExitCode::SUCCESS
}

/// Each file once; a panic ends the program with the panic's message and location.
#[cfg(not(feature = "afl"))]
fn run(target: &Target, files: &[String]) -> ExitCode {
    if files.is_empty() {
        eprintln!("light-gateway-fuzz {}: name the input files to run", target.name);
        return ExitCode::from(2);
    }
    for file in files {
        let data = match std::fs::read(file) {
            Ok(data) => data,
            Err(e) => {
                eprintln!("failed to read {file}: {e}");
                return ExitCode::FAILURE;
            }
        };
        (target.run)(&data);
        println!("{}: {file}: no finding", target.name);
    }
    ExitCode::SUCCESS
}
