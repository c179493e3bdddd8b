from licensedesk.entrypoints.cli import main

main()
