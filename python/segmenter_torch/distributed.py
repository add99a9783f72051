"""Processes, devices and model wrapping: torch.distributed from torchrun's environment, DDP or FSDP.

``torch.distributed`` is initialised when WORLD_SIZE > 1 (as torchrun sets it, with RANK,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT): NCCL on CUDA, gloo on the CPU. One process per device.
FSDP is used only where it exists with the full-state-dict APIs this engine needs (torch ≥ 2: feature
detection, not a version pin).
"""

import functools
import itertools
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.distributed as dist

from . import UserError


@dataclass
class Context:
    """This process: its rank, the world size, its local rank and device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"the environment variable {name}={text!r} is not a whole number (torchrun sets it)") from None


def resolve_device(name: str, local_rank: int) -> torch.device:
    """cpu, cuda, cuda:N or auto (CUDA if available); with several processes, cuda means cuda:LOCAL_RANK."""
    name = name.strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: CUDA is not available here (torch {torch.__version__}); use --device cpu or auto")
        if name == "cuda":
            index = local_rank if local_rank < torch.cuda.device_count() else 0
            return torch.device("cuda", index)
        try:
            return torch.device(name)
        except RuntimeError:
            raise UserError(f"--device {name}: not a device; use cpu, cuda, cuda:N or auto") from None
    raise UserError(f"--device {name}: use cpu, cuda, cuda:N or auto")


def initialise(device_name: str) -> Context:
    """Reads torchrun's variables, picks the device and, with WORLD_SIZE > 1, joins the process group."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    device = resolve_device(device_name, local_rank)
    if world > 1:
        if not dist.is_available():
            raise UserError("WORLD_SIZE > 1 but this torch has no torch.distributed")
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if name not in os.environ:
                raise UserError(f"WORLD_SIZE={world} but {name} is not set; start the processes with torchrun (or set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Context(rank, world, local_rank, device)


def shutdown(context: Context) -> None:
    if dist.is_available() and dist.is_initialized():   # one FSDP process has a group too
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, context: Context) -> torch.Tensor:
    """The sum over processes (in place; the tensor itself when alone)."""
    if context.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def agree(error: Optional[BaseException], context: Context) -> None:
    """Every process stops together if any failed: raises ``error`` where there is one, a UserError elsewhere.

    Call it on every process at the same point, in place of a barrier after work that can fail on
    some processes only (rank 0 writing a file, a file missing on one machine's disk): an all-reduced
    failure count tells every process, so none is left waiting in a collective the failed one
    never reaches.
    """
    failed = 1 if error is not None else 0
    if context.distributed and dist.is_initialized():
        flag = torch.tensor([float(failed)], dtype=torch.float64, device=context.device)
        dist.all_reduce(flag, op=dist.ReduceOp.SUM)
        failed = int(flag[0])
    if error is not None:
        raise error
    if failed:
        raise UserError(f"{failed} other process{'es' if failed > 1 else ''} stopped with an error (its message is above); all processes stop")


def from_main(value: float, context: Context) -> float:
    """Rank 0's ``value`` on every process (an all-reduce to which only rank 0 contributes), so all take the same branch."""
    if not context.distributed:
        return value
    tensor = torch.tensor([value if context.is_main else 0.0], dtype=torch.float64, device=context.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return float(tensor[0])


def gather_lines(lines: List[str], context: Context) -> List[str]:
    """Every process's ``lines``, in rank order, on every process (a collective: every rank must call it)."""
    if not context.distributed:
        return list(lines)
    gathered = [None] * context.world_size
    dist.all_gather_object(gathered, list(lines))
    return [line for part in gathered for line in part]


def barrier(context: Context) -> None:
    if context.distributed:
        dist.barrier()


def fsdp_available() -> bool:
    """True where FSDP exists with full-state-dict optimiser APIs (torch ≥ 2)."""
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel, FullOptimStateDictConfig  # noqa: F401
        from torch.distributed.fsdp.wrap import lambda_auto_wrap_policy  # noqa: F401
    except Exception:
        return False
    return hasattr(FullyShardedDataParallel, "optim_state_dict") and hasattr(FullyShardedDataParallel, "optim_state_dict_to_load")


def wrap(model: torch.nn.Module, strategy: str, context: Context) -> torch.nn.Module:
    """The model for training: itself (one process), DDP or FSDP (every process starts from rank 0's weights)."""
    if strategy == "fsdp":
        if not fsdp_available():
            raise UserError(f"--strategy fsdp needs torch ≥ 2 with torch.distributed.fsdp (this is torch {torch.__version__}); use --strategy ddp")
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        from torch.distributed.fsdp.wrap import lambda_auto_wrap_policy
        if not dist.is_initialized():   # one process: FSDP still needs a process group
            backend = "nccl" if context.device.type == "cuda" else "gloo"
            if "MASTER_ADDR" in os.environ and "MASTER_PORT" in os.environ:
                # Under torchrun (--nproc_per_node 1): its rendezvous, since a process it starts may only join torchrun's
                # own store; a group of our own on another port waits for a store that never answers.
                dist.init_process_group(backend=backend, rank=context.rank, world_size=context.world_size)
            else:
                dist.init_process_group(backend=backend, rank=0, world_size=1, init_method="tcp://127.0.0.1:" + str(_free_port()))
        blocks = {id(m) for name, m in model.named_modules() if _is_block(name)}
        policy = functools.partial(lambda_auto_wrap_policy, lambda_fn=lambda m: id(m) in blocks)
        if context.device.type == "cuda":
            return FSDP(model, auto_wrap_policy=policy, use_orig_params=True, sync_module_states=True, device_id=context.device)
        # FSDP syncs module states only through a GPU (torch 2.11 refuses CPU modules): on the CPU rank 0's weights are sent
        # first, and the device is named, or FSDP computes on the GPU wherever the machine has one.
        with torch.no_grad():
            for tensor in itertools.chain(model.parameters(), model.buffers()):
                dist.broadcast(tensor, src=0)
        return FSDP(model, auto_wrap_policy=policy, use_orig_params=True, device_id=torch.device("cpu"))
    if strategy != "ddp":
        raise UserError(f"--strategy {strategy}: use ddp or fsdp")
    if not context.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DDP(model, device_ids=device_ids, broadcast_buffers=False)


def _is_block(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and parts[0] in ("encoder", "decoder") and parts[1] == "blocks" and parts[2].isdigit()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_fsdp(model: torch.nn.Module) -> bool:
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    except Exception:
        return False
    return isinstance(model, FSDP)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The user's module inside DDP (FSDP models are used as they are)."""
    from torch.nn.parallel import DistributedDataParallel as DDP
    return model.module if isinstance(model, DDP) else model


def full_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
    """(state dict, momentum buffers by parameter name), complete on rank 0 (call on every rank: FSDP gathers)."""
    if is_fsdp(model):
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, StateDictType, FullStateDictConfig, FullOptimStateDictConfig
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT, FullStateDictConfig(offload_to_cpu=True, rank0_only=True),
                                  FullOptimStateDictConfig(offload_to_cpu=True, rank0_only=True)):
            weights = model.state_dict()
            optimizer_state = FSDP.optim_state_dict(model, optimizer)
        momentum = {name: s["momentum_buffer"] for name, s in optimizer_state.get("state", {}).items()
                    if isinstance(s, dict) and isinstance(s.get("momentum_buffer"), torch.Tensor)}
        return dict(weights), momentum
    module = unwrap(model)
    names = {id(p): name for name, p in module.named_parameters()}
    momentum = {}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            buffer = optimizer.state.get(parameter, {}).get("momentum_buffer")
            if buffer is not None:
                momentum[names[id(parameter)]] = buffer.detach()
    return {k: v.detach() for k, v in module.state_dict().items()}, momentum


FSDP_PREFIX = "_fsdp_wrapped_module."


def clean_name(name: str) -> str:
    """A parameter name without the wrappers' prefixes: FSDP's ``_fsdp_wrapped_module.`` at every wrapped level.

    Outside ``summon_full_params`` an FSDP model's ``named_parameters()`` carries these prefixes,
    while checkpoints (and FSDP's full optimiser state dicts) use the user module's clean names.
    """
    return name.replace(FSDP_PREFIX, "")


def load_momentum(model: torch.nn.Module, optimizer: torch.optim.Optimizer, momentum: Dict[str, torch.Tensor], source: str) -> None:
    """Restores momentum buffers by parameter name (FSDP: by clean name), checked as the .NET trainer checks them: each
    belongs to a parameter of its shape and is finite floating point (a parameter without one starts afresh, as PyTorch's SGD)."""
    module = unwrap(model)
    parameters = {clean_name(name): p for name, p in module.named_parameters()}
    for name, value in momentum.items():
        if name not in parameters:
            raise UserError(f"{source}: the optimiser state holds '{name}', which is not a parameter of this model; resume with the model the run was started with")
        if not is_fsdp(model) and tuple(parameters[name].shape) != tuple(value.shape):
            raise UserError(f"{source}: the optimiser state of '{name}' is {list(value.shape)}, but the parameter is {list(parameters[name].shape)}")
        if not value.is_floating_point():
            raise UserError(f"{source}: the optimiser state of '{name}' is {value.dtype}; momentum is floating point, so the file is damaged")
        if not bool(torch.isfinite(value.to(parameters[name].dtype)).all()):   # as the parameter's type holds it (float64 1e300 is inf in float32)
            raise UserError(f"{source}: the optimiser state of '{name}' holds NaN or infinite values; a run never saves them, so the file is damaged")
    if is_fsdp(model):
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, StateDictType, FullStateDictConfig, FullOptimStateDictConfig
        group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
        # The full (unflattened) optimiser state dict as FSDP.optim_state_dict writes it: keyed by clean names.
        full = {"state": {name: {"momentum_buffer": value} for name, value in momentum.items()},
                "param_groups": [dict(group, params=list(parameters))]}
        with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT, FullStateDictConfig(rank0_only=False),
                                  FullOptimStateDictConfig(rank0_only=False)):
            flattened = FSDP.optim_state_dict_to_load(model=model, optim=optimizer, optim_state_dict=full)
        optimizer.load_state_dict(flattened)
        return
    for name, value in momentum.items():
        parameter = parameters[name]
        optimizer.state[parameter]["momentum_buffer"] = value.to(device=parameter.device, dtype=parameter.dtype).clone()
