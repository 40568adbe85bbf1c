"""The risk model: the jobs' settings and the versioned model configuration (settings,
model_config.json), factor returns, covariance and scenarios (risk_model), the revaluation engine and
its compiled kernels (engine, kernels, kernel_cpu, precompile), a run read back (run_inputs), and the
whole engine in one process (offline). Kept light to import: kernel_cpu must run before numba loads."""
