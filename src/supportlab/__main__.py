from supportlab.cli import main

main()
