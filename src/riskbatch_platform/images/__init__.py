"""The jobs' images: what each Dockerfile states, and the build of the base and the three images (riskbatch-images)."""
