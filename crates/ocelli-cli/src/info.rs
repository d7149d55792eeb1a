//! `ocelli info`.

use ocelli::Gpu;

/// Prints what the chosen adapter is and what it can do.
pub fn run() -> anyhow::Result<()> {
    let gpu = Gpu::new()?;
    let info = gpu.adapter_info();
    let caps = gpu.capabilities();
    let limits = gpu.limits();
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("adapter      {}", info.name);
    println!("backend      {:?}", info.backend);
    println!("device type  {:?}", info.device_type);
    println!("driver       {} {}", info.driver, info.driver_info);
    println!(
        "features     shader-f16: {}, timestamp-query: {}, subgroup: {}",
        yes_no(caps.shader_f16),
        yes_no(caps.timestamp_query),
        yes_no(caps.subgroup)
    );
    println!(
        "limits       max storage binding {} MiB, max buffer {} MiB",
        limits.max_storage_buffer_binding_size >> 20,
        limits.max_buffer_size >> 20
    );
    println!(
        "             workgroup storage {} KiB, invocations per workgroup {}, workgroups per dimension {}",
        limits.max_compute_workgroup_storage_size >> 10,
        limits.max_compute_invocations_per_workgroup,
        limits.max_compute_workgroups_per_dimension
    );
    Ok(())
}
