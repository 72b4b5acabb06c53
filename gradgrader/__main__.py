from gradgrader.cli import main

main()
