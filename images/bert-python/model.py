"""Triton Python backend model: BERT sequence classification from traced TorchScript files.

config.pbtxt (written by the stack) names the target, the compiled batch sizes and the sequence length.
Each model instance is its own process; on Inf2 (target neuronx) instance k is pinned to NeuronCore k
before the Neuron runtime starts, so an inf2.xlarge (2 cores) runs two instances side by side. The
dynamic batcher hands over several requests at once: they are stacked, cut into chunks of at most the
largest compiled size, each chunk padded up to the next compiled size, run, and split back.
"""

import json
import os
import re

import numpy as np
import triton_python_backend_utils as pb_utils

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "logits"


def instance_index(instance_name: str) -> int:
    """Triton names instances <model>_<group>_<index>; the trailing number is this instance's index."""
    match = re.search(r"_(\d+)$", instance_name)
    return int(match.group(1)) if match else 0


def plan_chunks(total: int, sizes: list[int]) -> list[tuple[int, int]]:
    """[(rows, compiled size)]: rows taken from the batch per run and the compiled size it is padded to."""
    chunks = []
    largest = sizes[-1]
    while total > 0:
        rows = min(total, largest)
        chunks.append((rows, next(s for s in sizes if s >= rows)))
        total -= rows
    return chunks


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        self.target = params["target"]
        self.sizes = [int(s) for s in params["batch_sizes"].split(",")]
        self.sequence_length = int(params["sequence_length"])
        if self.target == "neuronx":
            # Must precede the first Neuron call in this process.
            os.environ["NEURON_RT_VISIBLE_CORES"] = str(instance_index(args["model_instance_name"]))
            import torch_neuronx  # noqa: F401  (registers the Neuron operators torch.jit.load needs)
        import torch

        self.torch = torch
        torch.set_grad_enabled(False)
        if self.target == "cpu":
            # Instances share the pod's CPUs; one thread each avoids oversubscription.
            torch.set_num_threads(max(1, int(os.environ.get("BERT_CPU_THREADS", "1"))))
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        self.models = {size: torch.jit.load(os.path.join(version_dir, f"model-b{size}.pt")) for size in self.sizes}
        for size, model in self.models.items():  # warm up: the first Neuron run loads the NEFF
            zeros = torch.zeros((size, self.sequence_length), dtype=torch.long)
            model(zeros, zeros, zeros)

    def _run(self, tensors):
        torch = self.torch
        total = tensors[0].shape[0]
        outputs = []
        start = 0
        for rows, size in plan_chunks(total, self.sizes):
            chunk = []
            for array in tensors:
                part = torch.from_numpy(np.ascontiguousarray(array[start:start + rows], dtype=np.int64))
                if rows < size:
                    part = torch.cat([part, torch.zeros((size - rows, self.sequence_length), dtype=torch.long)])
                chunk.append(part)
            logits = self.models[size](*chunk)[0]
            outputs.append(logits[:rows].to(torch.float32).numpy())
            start += rows
        return np.concatenate(outputs)

    def execute(self, requests):
        arrays = [[pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in INPUTS] for request in requests]
        counts = [request_arrays[0].shape[0] for request_arrays in arrays]
        stacked = [np.concatenate([request_arrays[i] for request_arrays in arrays]) for i in range(len(INPUTS))]
        try:
            logits = self._run(stacked)
        except Exception as error:  # one failed run fails the requests of this batch, not the server
            message = f"BERT inference failed: {error}"
            return [pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message)) for _ in requests]
        responses = []
        start = 0
        for count in counts:
            tensor = pb_utils.Tensor(OUTPUT, logits[start:start + count])
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
            start += count
        return responses

    def finalize(self):
        self.models = {}
