"""The templates read offline, as CloudFormation and IAM would read them.

resolve.py and conditions.py give the template for one set of parameters; iam_conditions.py,
key_policy.py, iam_audit.py and privilege_matrix.py read its policies; naming.py holds AWS's
naming and text constraints; guard.py and lint.py run the guard rules and cfn-lint;
deployer_permissions.py derives what a deployer needs; metric_filter.py reads filter patterns;
review.py (riskbatch-review) says what a change does to a running stack; validate.py
(riskbatch-validate) is the compliance table, whose requirements are compliance/requirements.json;
fmt_templates.py (riskbatch-fmt) is the templates' one canonical form.
"""
