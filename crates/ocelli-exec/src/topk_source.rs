//! The entry points of `shaders/topk.wgsl`, one per list length, generated with the
//! compare-and-swap steps of the sorted list unrolled: with the list in an array, a driver that
//! cannot prove the indices constant keeps it in memory, and a loop per step would count
//! against llvmpipe's 65 535 iterations per invocation (see reduce.wgsl) once per candidate.

use std::fmt::Write;

/// List lengths with an entry point: powers of two up to `Op::MAX_TOP_K`.
const LISTS: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// Entry names, in the order of [`LISTS`].
const NAMES: [&str; 8] = ["top_k_1", "top_k_2", "top_k_4", "top_k_8", "top_k_16", "top_k_32", "top_k_64", "top_k_128"];

/// The list length that serves `k` (1 ≤ k ≤ `Op::MAX_TOP_K`).
pub(crate) fn bucket(k: usize) -> usize {
    k.next_power_of_two()
}

/// The entry point keeping lists of `list` entries (a [`bucket`]).
pub(crate) fn entry_name(list: usize) -> &'static str {
    NAMES[LISTS.iter().position(|&l| l == list).expect("a bucket")]
}

/// One entry point: entry `top_k_{list}`.
fn entry(list: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n@compute @workgroup_size(WG)\nfn top_k_{list}(@builtin(global_invocation_id) gid: vec3<u32>, \
         @builtin(num_workgroups) nwg: vec3<u32>) {{"
    );
    s.push_str("    let t = gid.x + gid.y * nwg.x * WG;\n    if (t >= p.rows * p.chunks) {\n        return;\n    }\n");
    s.push_str("    let row = t / p.chunks;\n    let begin = (t % p.chunks) * p.chunk;\n");
    s.push_str("    let end = min(begin + p.chunk, p.len);\n");
    for j in 0..list {
        let _ = writeln!(s, "    var val{j} = worst();\n    var idx{j} = NONE;");
    }
    let last = list - 1;
    s.push_str("    for (var e = begin; e < end; e++) {\n        let c = candidate(row, e);\n");
    s.push_str("        var cv = bitcast<f32>(c.x);\n        var ci = c.y;\n");
    let _ = writeln!(s, "        if (!better(cv, ci, val{last}, idx{last})) {{\n            continue;\n        }}");
    for j in 0..list {
        let _ = writeln!(
            s,
            "        {{\n            let swap = better(cv, ci, val{j}, idx{j});\n            let tv = select(val{j}, cv, swap);\n            \
             let ti = select(idx{j}, ci, swap);\n            cv = select(cv, val{j}, swap);\n            ci = select(ci, idx{j}, swap);\n            \
             val{j} = tv;\n            idx{j} = ti;\n        }}"
        );
    }
    s.push_str("    }\n    let out = t * p.keep;\n");
    for j in 0..list {
        let _ = writeln!(
            s,
            "    if ({j}u < p.keep) {{\n        values[out + {j}u] = val{j};\n        indices[out + {j}u] = i32(idx{j});\n    }}"
        );
    }
    s.push_str("}\n");
    s
}

/// Every entry point of topk.wgsl.
pub(crate) fn topk_entries() -> String {
    LISTS.iter().map(|&l| entry(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::{bucket, entry, entry_name, LISTS};
    use ocelli_graph::Op;

    #[test]
    fn buckets_cover_every_k() {
        assert_eq!(LISTS.last(), Some(&Op::MAX_TOP_K));
        for k in 1..=Op::MAX_TOP_K {
            let b = bucket(k);
            assert!(b >= k && b < 2 * k);
            assert!(entry(b).contains(&format!("fn {}(", entry_name(b))));
        }
    }

    /// Each list entry takes part in the chain once and is written once.
    #[test]
    fn every_list_entry_is_swapped_and_stored() {
        let s = entry(8);
        assert_eq!(s.matches("let swap = better(").count(), 8);
        assert_eq!(s.matches("values[out + ").count(), 8);
        assert!(s.contains("val7") && !s.contains("val8"));
    }
}
