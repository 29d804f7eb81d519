// gradienthooks: diagnose a GradientHooks run log, or write its HTML report.
//   gradienthooks diagnose runs/mlp.jsonl [--json] [--fail-on warning|critical]
//   gradienthooks report runs/mlp.jsonl [-o report.html]
return GradientHooks.Tool.GradientHooksCommand.Invoke(args, Console.Out, Console.Error);
