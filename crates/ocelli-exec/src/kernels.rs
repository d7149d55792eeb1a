//! The typed list of WGSL kernel families: one variant per file in `shaders/`. A kernel missing
//! here is a compile error at its lowering, never a failed string lookup at run time.

use std::collections::HashMap;
use std::sync::OnceLock;

use ocelli_device::Kernel;

use crate::gemm_source::gemm_entry;
use crate::topk_source::topk_entries;

/// The line with which a kernel file declares the storage type of its float bindings; a family
/// whose source has it has an f16-storage variant ([`KernelFamily::kernel_f16`]).
const ELEM_F32: &str = "alias elem = f32;";

/// Every kernel family Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelFamily {
    /// `shaders/gemm.wgsl` over storage buffers (`gemm_storage.wgsl`), entry `gemm`
    Gemm,
    /// The same with entry `gemm_subgroup` (adapters with subgroups)
    GemmSubgroup,
    /// `shaders/gemm.wgsl` over textures (`gemm_texels.wgsl`), entry `gemm`
    GemmTexels,
    /// The same with entry `gemm_subgroup`
    GemmSubgroupTexels,
    /// `shaders/conv2d.wgsl` over a storage buffer (`conv2d_storage.wgsl`)
    Conv2d,
    /// `shaders/conv2d.wgsl` over a texture (`conv2d_texels.wgsl`)
    Conv2dTexels,
    /// `shaders/winograd.wgsl` over a storage buffer (`conv2d_storage.wgsl`)
    Winograd,
    /// `shaders/winograd.wgsl` reading its first binding as a texture (`conv2d_texels.wgsl`)
    WinogradTexels,
    /// `shaders/conv_transpose.wgsl`
    ConvTranspose,
    /// `shaders/pool.wgsl`
    Pool,
    /// `shaders/upsample.wgsl`
    Upsample,
    /// `shaders/elementwise.wgsl`
    Elementwise,
    /// `shaders/softmax.wgsl`
    Softmax,
    /// `shaders/reduce.wgsl`
    Reduce,
    /// `shaders/norm.wgsl`
    Norm,
    /// `shaders/layout.wgsl`
    Layout,
    /// `shaders/cast.wgsl`
    Cast,
    /// `shaders/demosaic.wgsl`
    Demosaic,
    /// `shaders/roi_align.wgsl`
    Roi,
    /// `shaders/nms.wgsl`
    Nms,
    /// `shaders/color.wgsl`
    Color,
    /// `shaders/components.wgsl`
    Components,
    /// `shaders/warp.wgsl`
    Warp,
    /// `shaders/topk.wgsl`
    TopK,
    /// `shaders/random.wgsl`
    Random,
}

macro_rules! shader {
    ($file:literal) => {
        include_str!(concat!("../../../shaders/", $file))
    };
    // A kernel with the activation chain (`activate`) prepended.
    (activation + $file:literal) => {
        concat!(include_str!("../../../shaders/activation.wgsl"), include_str!(concat!("../../../shaders/", $file)))
    };
    // The same with more files (bindings and helpers) appended.
    (activation + $file:literal $(+ $more:literal)+) => {
        concat!(shader!(activation + $file) $(, include_str!(concat!("../../../shaders/", $more)))+)
    };
}

/// A GEMM family's source: the activation chain, gemm.wgsl, its operand bindings and the
/// generated entry point. Built once per process.
fn gemm_kernel(subgroup: bool, texels: bool) -> Kernel {
    static TABLE: OnceLock<[Kernel; 4]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        [(false, false), (true, false), (false, true), (true, true)].map(|(subgroup, texels)| {
            let operands = if texels {
                concat!(shader!("texels.wgsl"), shader!("gemm_texels.wgsl"))
            } else {
                shader!("gemm_storage.wgsl")
            };
            let source = format!("{}{operands}{}", shader!(activation + "gemm.wgsl"), gemm_entry(subgroup));
            let label =
                format!("gemm{}{}", if subgroup { "_subgroup" } else { "" }, if texels { "_texels" } else { "" });
            // Leaked once per family for the 'static life of the kernel table.
            Kernel { label: Box::leak(label.into()), source: Box::leak(source.into()) }
        })
    });
    table[usize::from(subgroup) + 2 * usize::from(texels)]
}

/// topk.wgsl with its generated entry points. Built once per process.
fn topk_kernel() -> Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        let source = format!("{}{}", shader!("topk.wgsl"), topk_entries());
        // Leaked once for the 'static life of the kernel table.
        Kernel { label: "top_k", source: Box::leak(source.into()) }
    })
}

impl KernelFamily {
    /// Every family, for validation and warm-up.
    pub const ALL: [KernelFamily; 25] = [
        Self::Gemm,
        Self::GemmSubgroup,
        Self::GemmTexels,
        Self::GemmSubgroupTexels,
        Self::Conv2d,
        Self::Conv2dTexels,
        Self::Winograd,
        Self::WinogradTexels,
        Self::ConvTranspose,
        Self::Pool,
        Self::Upsample,
        Self::Elementwise,
        Self::Softmax,
        Self::Reduce,
        Self::Norm,
        Self::Layout,
        Self::Cast,
        Self::Demosaic,
        Self::Roi,
        Self::Nms,
        Self::Color,
        Self::Components,
        Self::Warp,
        Self::TopK,
        Self::Random,
    ];

    /// The label and WGSL source of this family.
    pub fn kernel(self) -> Kernel {
        let (label, source) = match self {
            Self::Gemm => return gemm_kernel(false, false),
            Self::GemmSubgroup => return gemm_kernel(true, false),
            Self::GemmTexels => return gemm_kernel(false, true),
            Self::GemmSubgroupTexels => return gemm_kernel(true, true),
            Self::Conv2d => ("conv2d", shader!(activation + "conv2d.wgsl" + "conv2d_storage.wgsl")),
            Self::Conv2dTexels => {
                ("conv2d_texels", shader!(activation + "conv2d.wgsl" + "texels.wgsl" + "conv2d_texels.wgsl"))
            }
            Self::Winograd => ("winograd", shader!(activation + "winograd.wgsl" + "conv2d_storage.wgsl")),
            Self::WinogradTexels => {
                ("winograd_texels", shader!(activation + "winograd.wgsl" + "texels.wgsl" + "conv2d_texels.wgsl"))
            }
            Self::ConvTranspose => ("conv_transpose", shader!("conv_transpose.wgsl")),
            Self::Pool => ("pool", shader!("pool.wgsl")),
            Self::Upsample => ("upsample", shader!("upsample.wgsl")),
            Self::Elementwise => ("elementwise", shader!(activation + "elementwise.wgsl")),
            Self::Softmax => ("softmax", shader!("softmax.wgsl")),
            Self::Reduce => ("reduce", shader!("reduce.wgsl")),
            Self::Norm => ("norm", shader!(activation + "norm.wgsl")),
            Self::Layout => ("layout", shader!("layout.wgsl")),
            Self::Cast => ("cast", shader!("cast.wgsl")),
            Self::Demosaic => ("demosaic", shader!("demosaic.wgsl")),
            Self::Roi => ("roi_align", shader!("roi_align.wgsl")),
            Self::Nms => ("nms", shader!("nms.wgsl")),
            Self::Color => ("color", shader!("color.wgsl")),
            Self::Components => ("components", shader!("components.wgsl")),
            Self::Warp => ("warp", shader!("warp.wgsl")),
            Self::Random => ("random", shader!("random.wgsl")),
            Self::TopK => return topk_kernel(),
        };
        Kernel { label, source }
    }

    /// The family with f16 storage (`alias elem = f16;` after `enable f16;`), for adapters with
    /// shader-f16; `None` for families whose bindings are always f32. Generated once per process.
    pub fn kernel_f16(self) -> Option<Kernel> {
        static F16: OnceLock<HashMap<KernelFamily, Kernel>> = OnceLock::new();
        let table = F16.get_or_init(|| {
            Self::ALL
                .into_iter()
                .filter_map(|family| {
                    let k = family.kernel();
                    k.source.contains(ELEM_F32).then(|| {
                        let source = format!("enable f16;\n{}", k.source.replace(ELEM_F32, "alias elem = f16;"));
                        let label = format!("{}_f16", k.label);
                        // Leaked once per family for the 'static life of the kernel table.
                        (family, Kernel { label: Box::leak(label.into()), source: Box::leak(source.into()) })
                    })
                })
                .collect()
        });
        table.get(&self).copied()
    }

    /// How many bindings (the first ones) `entry` of this family reads through textures
    /// ([`crate::texels`]); the others are storage buffers.
    pub(crate) fn texel_inputs(self, entry: &str) -> usize {
        match (self, entry) {
            (Self::Conv2dTexels, "im2col")
            | (Self::WinogradTexels, "winograd_input" | "winograd_output" | "winograd_output4") => 1,
            (Self::GemmTexels | Self::GemmSubgroupTexels | Self::Conv2dTexels, _) => 2,
            _ => 0,
        }
    }

    /// [`Self::kernel_f16`] when `f16`, else [`Self::kernel`].
    pub fn kernel_for(self, f16: bool) -> Option<Kernel> {
        if f16 {
            self.kernel_f16()
        } else {
            Some(self.kernel())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KernelFamily;

    fn validate(label: &str, source: &str) {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{label}: WGSL parse error:\n{}", e.emit_to_string(source)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{label}: WGSL validation error:\n{}", e.emit_to_string(source)));
    }

    #[test]
    fn every_kernel_family_parses_and_validates() {
        for family in KernelFamily::ALL {
            let k = family.kernel();
            validate(k.label, k.source);
        }
    }

    /// The f16-storage variants validate too, and exist for the families f16 graphs run natively.
    #[test]
    fn f16_variants_parse_and_validate() {
        let with_f16: Vec<KernelFamily> = KernelFamily::ALL.into_iter().filter(|f| f.kernel_f16().is_some()).collect();
        for family in [
            KernelFamily::Gemm,
            KernelFamily::GemmSubgroup,
            KernelFamily::GemmTexels,
            KernelFamily::GemmSubgroupTexels,
            KernelFamily::Conv2d,
            KernelFamily::Conv2dTexels,
            KernelFamily::Elementwise,
            KernelFamily::Pool,
        ] {
            assert!(with_f16.contains(&family), "{family:?} has no f16 variant");
        }
        for family in with_f16 {
            let k = family.kernel_f16().expect("listed");
            assert!(k.source.starts_with("enable f16;") && k.label.ends_with("_f16"));
            validate(k.label, k.source);
        }
    }

    /// Each file that is a whole family validates on its own (the others — the activation chain,
    /// kernels built on it, appended entry points — validate as part of their family above);
    /// every file belongs to some family.
    #[test]
    fn every_file_in_shaders_is_a_validated_kernel_family() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shaders");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("shaders/ exists")
            .map(|e| e.expect("readable entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        let known: Vec<&str> = KernelFamily::ALL.iter().map(|f| f.kernel().source).collect();
        for path in files {
            let source = std::fs::read_to_string(&path).expect("readable shader");
            if known.contains(&source.as_str()) {
                validate(&path.display().to_string(), &source);
            }
            assert!(
                known.iter().any(|k| k.contains(source.as_str())),
                "{} is not part of any KernelFamily",
                path.display()
            );
        }
    }
}
