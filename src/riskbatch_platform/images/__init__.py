"""The jobs' images: the import graph that decides each image's lock (riskbatch-lock-images), what each Dockerfile
states, the build of the base and the three images with their SBOMs (riskbatch-images), and the push (riskbatch-push-images)."""
