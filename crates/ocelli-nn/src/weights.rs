use std::collections::HashMap;
use std::path::Path;

use half::{bf16, f16};
use ocelli_graph::{DType, Shape, Tensor};
use safetensors::{Dtype, SafeTensors};

use crate::{NnError, Result};

/// Named tensors from a safetensors file, converted to f32 on load (f16 and bf16 via `half`).
#[derive(Debug, Clone)]
pub struct Weights {
    file: String,
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// Reads every tensor of a safetensors file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| NnError::Io { path: path.to_path_buf(), source })?;
        Self::from_bytes(&path.display().to_string(), &bytes)
    }

    /// Parses safetensors bytes; `file` names them in errors.
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| NnError::Format { path: file.into(), message: e.to_string() })?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let data = view.data();
            let values: Vec<f32> = match view.dtype() {
                Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
                Dtype::F16 => data.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
                Dtype::BF16 => data.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
                other => return Err(NnError::DType { name, file: file.into(), dtype: format!("{other:?}") }),
            };
            tensors.insert(name, Tensor::from_f32(view.shape().to_vec(), values)?);
        }
        Ok(Self { file: file.into(), tensors })
    }

    /// The tensor `name`, which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t =
            self.tensors.get(name).ok_or_else(|| NnError::Missing { name: name.into(), file: self.file.clone() })?;
        if t.shape().dims() != shape {
            return Err(NnError::Shape {
                name: name.into(),
                file: self.file.clone(),
                expected: Shape::from(shape),
                got: t.shape().clone(),
            });
        }
        Ok(t.clone())
    }

    /// The tensors' names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The shape of tensor `name`, if there is one.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.tensors.get(name).map(Tensor::shape)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file held no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// A view whose names are prefixed with `prefix.`.
    pub fn pp(&self, prefix: impl std::fmt::Display) -> Scope<'_> {
        Scope { weights: self, prefix: prefix.to_string(), dtype: DType::F32 }
    }

    /// A view of the top-level names.
    pub fn root(&self) -> Scope<'_> {
        Scope { weights: self, prefix: String::new(), dtype: DType::F32 }
    }
}

/// A path-scoped view of [`Weights`]: `w.pp("features").pp(3).get("weight", ..)` reads
/// `features.3.weight`. Tensors come out in the view's dtype (f32 unless
/// [`Scope::with_dtype`] says f16), so layer builders make f16 models from the same code.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    weights: &'a Weights,
    prefix: String,
    dtype: DType,
}

impl<'a> Scope<'a> {
    /// A deeper view.
    pub fn pp(&self, name: impl std::fmt::Display) -> Scope<'a> {
        Scope { weights: self.weights, prefix: self.path(&name.to_string()), dtype: self.dtype }
    }

    /// The same view, handing out tensors as `dtype` (f32 or f16; f16 rounds to nearest).
    pub fn with_dtype(&self, dtype: DType) -> Scope<'a> {
        Scope { dtype, ..self.clone() }
    }

    /// The dtype tensors come out in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The tensor `prefix.name`, which must have `shape`, in the view's dtype.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.weights.get(&self.path(name), shape)?;
        match (self.dtype, t.as_f32()) {
            (DType::F16, Some(v)) => {
                Ok(Tensor::from_f16(t.shape().clone(), v.iter().map(|&x| f16::from_f32(x)).collect())?)
            }
            _ => Ok(t),
        }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }
}
