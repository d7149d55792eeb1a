use half::f16;

use crate::{DType, GraphError, Result, Shape};

/// Elements of a host tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// f32 elements.
    F32(Vec<f32>),
    /// f16 elements.
    F16(Vec<f16>),
    /// i32 elements.
    I32(Vec<i32>),
    /// u32 elements.
    U32(Vec<u32>),
}

/// A tensor in host memory: a shape and row-major data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: TensorData,
}

impl Tensor {
    /// A tensor from a shape and data; fails when the lengths disagree.
    pub fn new(shape: impl Into<Shape>, data: TensorData) -> Result<Self> {
        let shape = shape.into();
        let len = match &data {
            TensorData::F32(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::U32(v) => v.len(),
        };
        // A shape whose element count wraps must not match a short vector.
        let Some(numel) = shape.checked_numel() else {
            return Err(GraphError::TooLarge { what: "tensor".into(), shape });
        };
        if len != numel {
            return Err(GraphError::DataLength { expected: numel, got: len, shape });
        }
        Ok(Self { shape, data })
    }

    /// An f32 tensor.
    pub fn from_f32(shape: impl Into<Shape>, data: Vec<f32>) -> Result<Self> {
        Self::new(shape, TensorData::F32(data))
    }

    /// An f16 tensor.
    pub fn from_f16(shape: impl Into<Shape>, data: Vec<f16>) -> Result<Self> {
        Self::new(shape, TensorData::F16(data))
    }

    /// An i32 tensor.
    pub fn from_i32(shape: impl Into<Shape>, data: Vec<i32>) -> Result<Self> {
        Self::new(shape, TensorData::I32(data))
    }

    /// Rebuilds a tensor from raw little-endian bytes as a GPU returns them.
    pub fn from_bytes(shape: impl Into<Shape>, dtype: DType, bytes: &[u8]) -> Result<Self> {
        let shape = shape.into();
        let Some((n, need)) = shape.checked_numel().and_then(|n| Some((n, n.checked_mul(dtype.size())?))) else {
            return Err(GraphError::TooLarge { what: "tensor".into(), shape });
        };
        if bytes.len() < need {
            return Err(GraphError::DataLength { expected: n, got: bytes.len() / dtype.size(), shape });
        }
        let b = &bytes[..need];
        let chunk4 =
            |f: fn([u8; 4]) -> u32| -> Vec<u32> { b.chunks_exact(4).map(|c| f([c[0], c[1], c[2], c[3]])).collect() };
        let data = match dtype {
            DType::F32 => TensorData::F32(chunk4(u32::from_le_bytes).into_iter().map(f32::from_bits).collect()),
            DType::I32 => TensorData::I32(chunk4(u32::from_le_bytes).into_iter().map(|u| u as i32).collect()),
            DType::U32 => TensorData::U32(chunk4(u32::from_le_bytes)),
            DType::F16 => {
                TensorData::F16(b.chunks_exact(2).map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]]))).collect())
            }
        };
        Ok(Self { shape, data })
    }

    /// Raw little-endian bytes of the data.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.data {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The data.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::I32(_) => DType::I32,
            TensorData::U32(_) => DType::U32,
        }
    }

    /// The f32 elements, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The i32 elements, if this is an i32 tensor.
    pub fn as_i32(&self) -> Option<&[i32]> {
        match &self.data {
            TensorData::I32(v) => Some(v),
            _ => None,
        }
    }

    /// Every element converted to f64 (for comparisons and reports).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.data {
            TensorData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::F16(v) => v.iter().map(|&x| f64::from(x.to_f32())).collect(),
            TensorData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        }
    }

    /// The same data under another shape with the same number of elements.
    pub fn reshaped(mut self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        let Some(numel) = shape.checked_numel() else {
            return Err(GraphError::TooLarge { what: "tensor".into(), shape });
        };
        if numel != self.shape.numel() {
            return Err(GraphError::DataLength { expected: numel, got: self.shape.numel(), shape });
        }
        self.shape = shape;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_every_dtype() {
        let ts = [
            Tensor::from_f32([2, 2], vec![1.0, -2.5, 3.25, 0.0]).unwrap(),
            Tensor::from_f16([3], vec![f16::from_f32(1.5), f16::from_f32(-2.0), f16::ZERO]).unwrap(),
            Tensor::from_i32([2], vec![-7, 9]).unwrap(),
        ];
        for t in ts {
            let back = Tensor::from_bytes(t.shape().clone(), t.dtype(), &t.to_bytes()).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn wrong_length_is_an_error() {
        let e = Tensor::from_f32([2, 3], vec![0.0; 5]).unwrap_err();
        assert!(matches!(e, GraphError::DataLength { expected: 6, got: 5, .. }), "{e}");
    }
}
