from gradgrader.cli import run

run()
