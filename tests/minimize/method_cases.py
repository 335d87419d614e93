"""Options per minimize method that move most of its option fields off
their defaults, shared by the tests that hold the C driver against the
reference twin and against itself (warm starts)."""

REF_OPTIONS = {
    "gd": dict(lr=2e-3),
    "momentum": dict(lr=1e-3, dampening=0.1, weight_decay=0.01),
    "nesterov": dict(lr=1e-3, momentum=0.8),
    "adam": dict(lr=1e-2, amsgrad=True, weight_decay=0.01),
    "adamw": dict(lr=1e-2),
    "rmsprop": dict(lr=1e-3, centered=True, momentum=0.5, weight_decay=0.01),
    "adagrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    "adamax": dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.01),
    "nadam": dict(lr=1e-2, momentum_decay=0.01, weight_decay=0.01, decoupled_weight_decay=True),
    "newton": dict(),
    "lbfgs": dict(m=5),
    "bfgs": dict(),
    "cg": dict(),
    "newton-cg": dict(lr=0.5),
}
