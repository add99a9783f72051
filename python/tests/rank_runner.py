"""Runs one training process (as torchrun would start it) and saves this rank's weights as OUT/rank<R>.safetensors.

Usage: python rank_runner.py <train options>; RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT from the environment.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from segmenter_torch import safetensors_io, train  # noqa: E402
from segmenter_torch.distributed import initialise, shutdown, unwrap  # noqa: E402


def main():
    args = train.build_parser().parse_args(sys.argv[1:])
    train.check_options(args)
    torch.set_num_threads(1)
    context = initialise(args.device)
    try:
        trainer = train.Trainer(args, context)
        trainer.run()
        weights = unwrap(trainer.model).state_dict()
        safetensors_io.write(os.path.join(args.out, f"rank{context.rank}.safetensors"), list(weights.items()))
    finally:
        shutdown(context)


if __name__ == "__main__":
    main()
