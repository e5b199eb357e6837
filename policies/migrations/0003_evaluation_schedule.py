"""The evaluation loop: one django-q2 schedule that evaluates every service with a policy each minute."""

from django.db import migrations

NAME = "policies: evaluate scaling policies"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "policies.tasks.policy_evaluate_all", "schedule_type": "I", "minutes": 1,
                             "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_scalingpolicy_last_decision_key_and_more"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create, remove)]
