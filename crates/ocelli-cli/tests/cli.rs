//! The `ocelli` binary end to end.

use std::process::Command;

fn ocelli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ocelli")).args(args).output().expect("ocelli runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn info_names_the_adapter_backend_features_and_limits() {
    let (ok, out, err) = ocelli(&["info"]);
    assert!(ok, "{err}");
    for field in ["adapter", "backend", "device type", "driver", "shader-f16", "max storage binding"] {
        assert!(out.contains(field), "missing {field}:\n{out}");
    }
}

#[test]
fn bench_json_reports_op_backend_ms_and_gflops() {
    for (args, op) in [
        (vec!["bench", "gemm", "--m", "33", "--n", "17", "--k", "9", "--runs", "2", "--json"], "gemm"),
        (
            vec![
                "bench",
                "conv2d",
                "--c",
                "3",
                "--h",
                "9",
                "--w",
                "7",
                "--k",
                "5",
                "--runs",
                "1",
                "--json",
                "--backend",
                "cpu",
            ],
            "conv2d",
        ),
    ] {
        let (ok, out, err) = ocelli(&args);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert_eq!(v["op"], op);
        assert!(v["ms"].as_f64().unwrap() > 0.0);
        assert!(v["gflops"].as_f64().unwrap() > 0.0);
        assert!(v["backend"] == "gpu" || v["backend"] == "cpu");
    }
}

#[test]
fn a_bad_flag_fails_with_usage_not_a_panic() {
    let (ok, _, err) = ocelli(&["bench", "gemm", "--m", "zero"]);
    assert!(!ok);
    assert!(err.contains("invalid value"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn profile_prints_a_row_per_node_and_the_memory_figures() {
    let (ok, out, err) = ocelli(&["profile", "--graph", "cnn", "--runs", "1"]);
    assert!(ok, "{err}");
    assert!(out.contains("fused(conv2d+residual+relu)"), "{out}");
    assert!(out.contains("planned vs"), "{out}");
    assert!(out.contains("GFLOP/s"), "{out}");
}
