//! The typed list of WGSL kernel families: one variant per file in `shaders/`. A kernel missing
//! here is a compile error at its lowering, never a failed string lookup at run time.

use ocelli_device::Kernel;

/// Every kernel family Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelFamily {
    /// `shaders/gemm.wgsl`
    Gemm,
    /// `shaders/gemm.wgsl` with `shaders/gemm_subgroup.wgsl` (adapters with subgroups)
    GemmSubgroup,
    /// `shaders/conv2d.wgsl`
    Conv2d,
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
    /// `shaders/topk.wgsl`
    TopK,
}

macro_rules! shader {
    ($file:literal) => {
        include_str!(concat!("../../../shaders/", $file))
    };
    // A kernel with the activation chain (`activate`) prepended.
    (activation + $file:literal) => {
        concat!(include_str!("../../../shaders/activation.wgsl"), include_str!(concat!("../../../shaders/", $file)))
    };
    // The same with a second file (more entry points over the first one's helpers) appended.
    (activation + $file:literal + $more:literal) => {
        concat!(shader!(activation + $file), include_str!(concat!("../../../shaders/", $more)))
    };
}

impl KernelFamily {
    /// Every family, for validation and warm-up.
    pub const ALL: [KernelFamily; 17] = [
        Self::Gemm,
        Self::GemmSubgroup,
        Self::Conv2d,
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
        Self::TopK,
    ];

    /// The label and WGSL source of this family.
    pub fn kernel(self) -> Kernel {
        let (label, source) = match self {
            Self::Gemm => ("gemm", shader!(activation + "gemm.wgsl")),
            Self::GemmSubgroup => ("gemm_subgroup", shader!(activation + "gemm.wgsl" + "gemm_subgroup.wgsl")),
            Self::Conv2d => ("conv2d", shader!(activation + "conv2d.wgsl")),
            Self::ConvTranspose => ("conv_transpose", shader!("conv_transpose.wgsl")),
            Self::Pool => ("pool", shader!("pool.wgsl")),
            Self::Upsample => ("upsample", shader!("upsample.wgsl")),
            Self::Elementwise => ("elementwise", shader!(activation + "elementwise.wgsl")),
            Self::Softmax => ("softmax", shader!("softmax.wgsl")),
            Self::Reduce => ("reduce", shader!("reduce.wgsl")),
            Self::Norm => ("norm", shader!("norm.wgsl")),
            Self::Layout => ("layout", shader!("layout.wgsl")),
            Self::Cast => ("cast", shader!("cast.wgsl")),
            Self::Demosaic => ("demosaic", shader!("demosaic.wgsl")),
            Self::Roi => ("roi_align", shader!("roi_align.wgsl")),
            Self::Nms => ("nms", shader!("nms.wgsl")),
            Self::Color => ("color", shader!("color.wgsl")),
            Self::TopK => ("top_k", shader!("topk.wgsl")),
        };
        Kernel { label, source }
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
