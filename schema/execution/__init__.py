"""How operations run: documents parsed and validated once per text (`documents`), and each
operation compiled once into a plan that a graphql-core executor runs (`plans`, `executor`)."""
