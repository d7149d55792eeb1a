// Graph inputs of the generator (fuzz/graph_gen.rs): data drawn to suit the op that asked for
// each input.

use ocelli::{DType, Graph, Tensor};

use super::{Fill, Gen};

impl Gen<'_> {
    /// Data for every graph input, drawn as its fill says.
    pub(super) fn input_data(&mut self, graph: &Graph) -> Vec<Tensor> {
        let fills = self.fills.clone();
        graph
            .inputs()
            .iter()
            .zip(fills)
            .map(|(&id, fill)| {
                let info = graph.value(id);
                let (shape, n) = (info.shape.clone(), info.shape.numel());
                match (info.dtype, fill) {
                    (DType::U32, _) => {
                        let words = (0..n).map(|_| self.next_random() as u32).collect();
                        Tensor::new(shape, ocelli::TensorData::U32(words)).expect("sized")
                    }
                    (DType::I32, Fill::Index(limit)) => {
                        let wild = self.wild();
                        let idx = (0..n)
                            .map(|_| {
                                let r = self.next_random();
                                if wild {
                                    r as i32
                                } else {
                                    (r % limit.max(1) as u64) as i32
                                }
                            })
                            .collect();
                        Tensor::from_i32(shape, idx).expect("sized")
                    }
                    (DType::I32, _) => Tensor::from_i32(shape, vec![0; n]).expect("sized"),
                    (_, Fill::Boxes) => {
                        let mut data = Vec::with_capacity(n);
                        for _ in 0..n / 4 {
                            let (x, y) = (self.value(Fill::Positive) * 2.0, self.value(Fill::Positive) * 2.0);
                            let (w, h) = (self.value(Fill::Positive), self.value(Fill::Positive));
                            data.extend([x, y, x + w, y + h]);
                        }
                        Tensor::from_f32(shape, data).expect("sized")
                    }
                    (_, fill) => {
                        let data = (0..n).map(|_| self.value(fill)).collect();
                        Tensor::from_f32(shape, data).expect("sized")
                    }
                }
            })
            .collect()
    }
}
