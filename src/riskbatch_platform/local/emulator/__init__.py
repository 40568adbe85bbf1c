"""moto's server with the fixes the local target needs: one module per patched service, one function per fix.

moto is not AWS. Each fix says which of three kinds it is:
- a defect: moto loses a value the template or the request holds (a property read under the
  wrong name, an attribute never set); the fix carries the value through;
- a missing rule: AWS enforces something moto does not model (policy conditions, S3's answer
  for a missing key, PassRole on RunTask); the fix adds AWS's documented behaviour, cited;
- a stand-in: the local runner plays ECS and EventBridge, which moto lacks; the fix lets it
  act as those services do, and nothing else.
patching.py holds the frame (the Patcher, the registry, apply_fixes and the authorisation helpers);
<service>.py its fixes; server.py runs moto's server with them (riskbatch-emulator); loopback.py
starts that server on a free loopback port for a run; gaps.py lists what it still does not model;
alarm_model.py is its model of alarm evaluation. Every fix has a test in
test/platform/local/emulator/ that shows the unpatched moto without the behaviour and the patched
one with it. The fixes reach into moto's internals, so they are written for one moto version
(patching.MOTO_VERSION) and refuse to run on another.
"""
