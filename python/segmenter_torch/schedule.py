"""The paper's learning-rate schedule, per step (PolySchedule.cs)."""


def poly_lr(iteration: int, base_lr: float, iterations: int, min_lr: float = 1e-5, power: float = 0.9) -> float:
    """lr = (lr0 − lr_min)(1 − min(it, itmax) / itmax)^power + lr_min, for the 0-based step ``iteration``."""
    progress = min(iteration, iterations) / float(iterations)
    return (base_lr - min_lr) * (1 - progress) ** power + min_lr


def make_optimizer(parameters, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
    """SGD with Nesterov momentum (dampening 0), PyTorch's rule as NesterovSgd.cs implements it:
    g ← ∇ + λ·p; b ← μ·b + g (b ← g at the first step); p ← p − lr·(g + μ·b)."""
    import torch
    return torch.optim.SGD([p for p in parameters if p.requires_grad], lr=lr, momentum=momentum,
                           weight_decay=weight_decay, nesterov=momentum > 0, dampening=0)
