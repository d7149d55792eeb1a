//! ONNX's own RoiAlign and NonMaxSuppression test cases (exported from the `onnx` package by
//! scripts/export_onnx_op_cases.py into assets/golden/ops/), run on the CPU reference and every
//! GPU backend.

use ocelli::{Backend, CpuBackend, DType, GraphBuilder, Nms, Op, Overlap, PoolKind, RoiAlign, Tensor};
use serde_json::Value;

use crate::harness::{assert_close, gpus, Tol};

fn cases(file: &str) -> Vec<Value> {
    let path = format!("{}/../../assets/golden/ops/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("exported cases")).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data = v["data"].as_array().unwrap();
    match v["dtype"].as_str().unwrap() {
        "float32" => Tensor::from_f32(shape, data.iter().map(|x| x.as_f64().unwrap() as f32).collect()).unwrap(),
        "int64" => Tensor::from_i32(shape, data.iter().map(|x| x.as_i64().unwrap() as i32).collect()).unwrap(),
        other => panic!("dtype {other}"),
    }
}

fn scalar(v: &Value) -> f64 {
    v["data"][0].as_f64().unwrap()
}

#[test]
fn onnx_roi_align_cases() {
    let cases = cases("roi_align.json");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let a = &case["attributes"];
        let get = |k: &str, d: f64| a.get(k).and_then(Value::as_f64).unwrap_or(d);
        let p = RoiAlign {
            out_h: get("output_height", 1.0) as usize,
            out_w: get("output_width", 1.0) as usize,
            sampling_ratio: get("sampling_ratio", 0.0) as usize,
            spatial_scale: get("spatial_scale", 1.0) as f32,
            mode: if a.get("mode").and_then(Value::as_str) == Some("max") { PoolKind::Max } else { PoolKind::Avg },
            half_pixel: a.get("coordinate_transformation_mode").and_then(Value::as_str).unwrap_or("half_pixel")
                == "half_pixel",
        };
        let inputs: Vec<Tensor> = case["inputs"].as_array().unwrap().iter().map(tensor).collect();
        let mut g = GraphBuilder::new();
        let x = g.input("X", inputs[0].shape().clone(), DType::F32).unwrap();
        let rois = g.input("rois", inputs[1].shape().clone(), DType::F32).unwrap();
        let idx = g.input("batch_indices", inputs[2].shape().clone(), DType::I32).unwrap();
        let y = g.op(Op::RoiAlign(p), &[x, rois, idx]).unwrap();
        let graph = g.build(&[y]).unwrap();
        // The published values are rounded to 4 decimals and differ from onnx's own reference
        // evaluator by up to 8.4e-5 (test_roialign_aligned_false); the evaluator's values are
        // the tight check.
        let published = tensor(&case["outputs"][0]);
        let reference = tensor(&case["reference_outputs"][0]);
        let loose = Tol { rel: 0.0, abs: 1e-4 };
        let tight = Tol { rel: 1e-5, abs: 1e-6 };
        let mut runs = vec![("cpu".to_string(), CpuBackend.run(&graph, &inputs).unwrap().remove(0))];
        for gpu in gpus() {
            runs.push((gpu.name(), gpu.run(&graph, &inputs).unwrap().remove(0)));
        }
        for (backend, got) in runs {
            assert_close(&format!("{name} on {backend} vs published"), &published, &got, loose);
            assert_close(&format!("{name} on {backend} vs onnx reference"), &reference, &got, tight);
        }
    }
}

/// The selected rows of a padded NMS output.
pub fn selected(t: &Tensor) -> Vec<i32> {
    t.to_f64_vec()
        .chunks(3)
        .filter(|r| r[0] >= 0.0)
        .flat_map(|r| r.iter().map(|&v| v as i32).collect::<Vec<_>>())
        .collect()
}

#[test]
fn onnx_non_max_suppression_cases() {
    let cases = cases("non_max_suppression.json");
    assert_eq!(cases.len(), 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ins = case["inputs"].as_array().unwrap();
        let (boxes, scores) = (tensor(&ins[0]), tensor(&ins[1]));
        let p = Nms {
            max_per_class: scalar(&ins[2]) as usize,
            iou_threshold: scalar(&ins[3]) as f32,
            score_threshold: ins.get(4).map(|v| scalar(v) as f32),
            center_point_box: case["attributes"].get("center_point_box").and_then(Value::as_i64) == Some(1),
            class_agnostic: false,
            soft_sigma: None,
            overlap: Overlap::Iou,
        };
        let mut g = GraphBuilder::new();
        let b = g.input("boxes", boxes.shape().clone(), DType::F32).unwrap();
        let s = g.input("scores", scores.shape().clone(), DType::F32).unwrap();
        let y = g.op(Op::NonMaxSuppression(p), &[b, s]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let want: Vec<i32> = tensor(&case["outputs"][0]).to_f64_vec().iter().map(|&v| v as i32).collect();
        let reference: Vec<i32> =
            tensor(&case["reference_outputs"][0]).to_f64_vec().iter().map(|&v| v as i32).collect();
        assert_eq!(want, reference, "{name}: published and reference agree");
        let inputs = [boxes, scores];
        assert_eq!(selected(&CpuBackend.run(&graph, &inputs).unwrap()[0]), want, "{name} on cpu");
        for gpu in gpus() {
            assert_eq!(selected(&gpu.run(&graph, &inputs).unwrap()[0]), want, "{name} on {}", gpu.name());
        }
    }
}
