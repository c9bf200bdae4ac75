"""Tools for developers and operators, outside the runtime: benchmarks, evaluations, the
fuzzer, transcripts and screenshots. Nothing under bot/ or actions/ imports them."""
