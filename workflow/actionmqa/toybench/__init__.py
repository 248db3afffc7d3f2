"""Toy versions of EgoSchema, Perception Test, LongVideoBench, Video-MME and MVBench.

Built from the toy world's validation split: videos cut from its renders, questions whose
answers its annotations know (action order, counting, object existence and colour, direction
of motion, what happens next), written in each benchmark's real record schema and layout so
the ``bench`` adapters load them unchanged. Each holds at least 150 questions, so that one
question moves a score by under a point. ``generate.generate_benchmarks`` writes all five;
nothing is imported here, so ``actionmqa --help`` stays fast.
"""
